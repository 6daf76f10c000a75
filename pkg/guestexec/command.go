package guestexec

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// Env is how the guest runs commands: as its service runs.
type Env struct {
	Root    string   // chroot into it when not ""
	BaseEnv []string // the service's environment; the request's Env follows it
	WorkDir string   // the service's working directory, for requests that name none; "/" when ""
	// LookPath finds a bare command name as a process in root with env
	// would. Nil: exec.LookPath, on this process's PATH, right only for
	// Root "". Its errors are "not found" (status 127).
	LookPath func(root string, env []string, name string) (string, error)
	// Children, if set, starts every command: a PID 1 that reaps all its
	// children must leave these to their own Wait, or their status is lost.
	Children Children
}

// Children is a PID 1's record of the children it does not reap itself.
type Children interface {
	// Start runs start (which starts one command) so that the reaper
	// cannot collect the child before it is recorded; it returns start's
	// error. pid reports the started child's pid.
	Start(start func() error, pid func() int) error
	// Done forgets pid once its Wait returned.
	Done(pid int)
}

// outputGrace is how long output is still copied after the command exits,
// from background children that hold its stdout: long enough for a
// straggler's last words, short enough that a daemon it left behind does
// not hold `vmfleet exec` open.
const outputGrace = time.Second

// process is a started command and where its input goes.
type process struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser // nil: the command reads /dev/null (or a TTY the host does not type into)
	pty    *os.File       // the pty's master, with a TTY
	copied chan struct{}  // closed once the pty's output is copied (TTY)
	// children, if set, starts the command (see Env.Children).
	children Children
}

// startWith starts the command with start, through children if set.
func (p *process) startWith(start func() error) error {
	if p.children == nil {
		return start()
	}
	return p.children.Start(start, func() int { return p.cmd.Process.Pid })
}

// start starts req's command, its output going to fw. broke hears about
// a failed output write.
func start(ctx context.Context, req Request, e Env, fw *frameWriter, broke func(error)) (*process, *StartError) {
	if err := req.Validate(); err != nil {
		return nil, &StartError{Status: 126, Message: err.Error()}
	}
	name := req.Argv[0]
	env := append(slices.Clone(e.BaseEnv), req.Env...)
	path, err := e.lookPath(env, name)
	if err != nil {
		return nil, &StartError{Status: 127, Message: "in the guest: " + err.Error()}
	}
	dir := cmp.Or(req.WorkDir, e.WorkDir, "/")
	if fi, err := os.Stat(filepath.Join(e.Root, dir)); err != nil || !fi.IsDir() {
		return nil, &StartError{Status: 126, Message: fmt.Sprintf("in the guest: working directory %s is not a directory; give another with -w", dir)}
	}
	cmd := exec.CommandContext(ctx, name, req.Argv[1:]...)
	cmd.Path, cmd.Err = path, nil // looked up in the root, not on this process's PATH
	cmd.Env, cmd.Dir = env, dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: e.Root, Setsid: true}
	// Its own session, so one signal reaches everything it started.
	cmd.Cancel = func() error { return unix.Kill(-cmd.Process.Pid, unix.SIGKILL) }
	cmd.WaitDelay = outputGrace
	p := &process{cmd: cmd, children: e.Children}
	if req.TTY {
		err = p.startTTY(req, stream{fw, kindStdout, broke})
	} else {
		err = p.startPipes(req, stream{fw, kindStdout, broke}, stream{fw, kindStderr, broke})
	}
	if err != nil {
		return nil, startFailed(name, err)
	}
	return p, nil
}

func (e Env) lookPath(env []string, name string) (string, error) {
	switch {
	case e.LookPath != nil:
		return e.LookPath(e.Root, env, name)
	case strings.Contains(name, "/"):
		return name, nil
	}
	return exec.LookPath(name)
}

// startFailed gives a failed start a shell's status: 127 for a file that
// is not there, 126 for one that cannot run.
func startFailed(name string, err error) *StartError {
	status := 126
	if errors.Is(err, fs.ErrNotExist) {
		status = 127
	}
	return &StartError{Status: status, Message: fmt.Sprintf("in the guest: start %s: %v", name, err)}
}

func (p *process) startPipes(req Request, stdout, stderr io.Writer) error {
	p.cmd.Stdout, p.cmd.Stderr = stdout, stderr
	if req.Stdin {
		w, err := p.cmd.StdinPipe()
		if err != nil {
			return err
		}
		p.stdin = w
	}
	return p.startWith(p.cmd.Start)
}

func (p *process) startTTY(req Request, out io.Writer) error {
	var size *pty.Winsize
	if req.Rows != 0 || req.Cols != 0 {
		size = &pty.Winsize{Rows: req.Rows, Cols: req.Cols}
	}
	var master *os.File
	err := p.startWith(func() (err error) {
		master, err = pty.StartWithSize(p.cmd, size)
		return err
	})
	if err != nil {
		return err
	}
	if p.pty, err = pollable(master); err != nil {
		_ = p.cmd.Cancel()
		_ = p.cmd.Wait()
		p.done()
		return fmt.Errorf("the pty: %w", err)
	}
	if req.Stdin {
		p.stdin = ttyInput{p.pty}
	}
	p.copied = make(chan struct{})
	go func() {
		defer close(p.copied)
		_, _ = io.Copy(out, p.pty) // ends with EIO once every holder of the terminal closed it
	}()
	return nil
}

// pollable replaces f, which pty left in blocking mode, with a copy that
// Close interrupts: a background child may hold the terminal forever.
func pollable(f *os.File) (*os.File, error) {
	defer f.Close()
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		return nil, err
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// ttyInput is the host's typing. Its end is the terminal's end-of-file
// character: the command reads EOF as from a keyboard's ^D (at the start
// of a line, as piped input ends).
type ttyInput struct{ f *os.File }

func (t ttyInput) Write(p []byte) (int, error) { return t.f.Write(p) }

func (t ttyInput) Close() error {
	_, err := t.f.Write([]byte{4})
	return err
}

// resize sets the pty's size; without a TTY there is none to set.
func (p *process) resize(s Size) error {
	if p.pty == nil {
		return nil
	}
	rc, err := p.pty.SyscallConn()
	if err != nil {
		return err
	}
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		ierr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: s.Rows, Col: s.Cols})
	}); err != nil {
		return err
	}
	return ierr
}

// wait returns the command's status once it exited and its output is
// copied (for at most outputGrace after the exit).
func (p *process) wait() int {
	_ = p.cmd.Wait() // the status is in ProcessState; pipe errors only say the stream broke
	p.done()
	if p.pty != nil {
		select {
		case <-p.copied:
		case <-time.After(outputGrace):
		}
		p.pty.Close()
		<-p.copied
	}
	return exitStatus(p.cmd.ProcessState)
}

// done tells children the command is waited for.
func (p *process) done() {
	if p.children != nil {
		p.children.Done(p.cmd.Process.Pid)
	}
}

// exitStatus is the status as a shell gives it: 128+N after signal N.
func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}
