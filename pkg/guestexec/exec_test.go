package guestexec

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// result is what both ends of one exec said.
type result struct {
	status         int
	err            error
	stdout, stderr string
	served         error
}

// execute runs req with Run and Serve joined by an in-memory stream.
func execute(t *testing.T, req Request, e Env, stdin io.Reader, stdout io.Writer, resize <-chan Size) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	host, guest := net.Pipe()
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, guest, e) }()
	var out, errOut bytes.Buffer
	if stdout == nil {
		stdout = &out
	}
	status, err := Run(ctx, host, req, stdin, stdout, &errOut, resize)
	return result{status: status, err: err, stdout: out.String(), stderr: errOut.String(), served: <-served}
}

func sh(script string) Request { return Request{Argv: []string{"/bin/sh", "-c", script}} }

func TestTheCommandsExitStatusComesBack(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want int
	}{
		{[]string{"true"}, 0},
		{[]string{"false"}, 1},
		{[]string{"/bin/sh", "-c", "exit 3"}, 3},
		{[]string{"/bin/sh", "-c", "kill -9 $$"}, 128 + 9},
	} {
		r := execute(t, Request{Argv: tc.argv}, Env{}, nil, nil, nil)
		if r.status != tc.want || r.err != nil || r.served != nil {
			t.Errorf("%q: status %d, %v (guest: %v); want %d", tc.argv, r.status, r.err, r.served, tc.want)
		}
	}
}

func TestAMissingCommandExits127AndSaysWhich(t *testing.T) {
	for _, name := range []string{"no-such-command-here", "/no/such/dir/cmd"} {
		r := execute(t, Request{Argv: []string{name}}, Env{}, nil, nil, nil)
		var se *StartError
		if r.status != 127 || !errors.As(r.err, &se) || se.ExitCode() != 127 || !strings.Contains(se.Error(), name) {
			t.Errorf("%s: status %d, %v; want 127 and an error naming it", name, r.status, r.err)
		}
		if r.served != nil {
			t.Errorf("%s: Serve: %v; a command that cannot start is the host's to report", name, r.served)
		}
	}
}

func TestAFileThatCannotRunExits126(t *testing.T) {
	p := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := execute(t, Request{Argv: []string{p}}, Env{}, nil, nil, nil)
	if r.status != 126 || r.err == nil {
		t.Errorf("status %d, %v; want 126 and why", r.status, r.err)
	}
}

func TestAMissingWorkDirExits126AndNamesIt(t *testing.T) {
	r := execute(t, Request{Argv: []string{"true"}, WorkDir: "/no/such/dir"}, Env{}, nil, nil, nil)
	if r.status != 126 || r.err == nil || !strings.Contains(r.err.Error(), "/no/such/dir") {
		t.Errorf("status %d, %v; want 126 and an error naming the directory", r.status, r.err)
	}
}

func TestTheCommandStartsInTheRequestedDirElseTheServices(t *testing.T) {
	asked, service := t.TempDir(), t.TempDir()
	for _, tc := range []struct{ workDir, want string }{{asked, asked}, {"", service}} {
		req := Request{Argv: []string{"pwd"}, WorkDir: tc.workDir}
		if r := execute(t, req, Env{WorkDir: service}, nil, nil, nil); r.stdout != tc.want+"\n" {
			t.Errorf("WorkDir %q: pwd printed %q, want %s", tc.workDir, r.stdout, tc.want)
		}
	}
}

func TestTheRequestsEnvOverridesTheServices(t *testing.T) {
	req := sh(`echo "$A $B"`)
	req.Env = []string{"B=request"}
	r := execute(t, req, Env{BaseEnv: []string{"A=service", "B=service"}}, nil, nil, nil)
	if r.stdout != "service request\n" {
		t.Errorf("printed %q, want %q", r.stdout, "service request\n")
	}
}

func TestTheLookPathGivenFindsTheCommand(t *testing.T) {
	var asked []string
	look := func(root string, env []string, name string) (string, error) {
		asked = append(asked, root, name, strings.Join(env, ","))
		return "/bin/echo", nil
	}
	r := execute(t, Request{Argv: []string{"say", "hi"}}, Env{BaseEnv: []string{"X=1"}, LookPath: look}, nil, nil, nil)
	if r.stdout != "hi\n" || strings.Join(asked, " ") != " say X=1" {
		t.Errorf("printed %q, LookPath asked %q; want hi from /bin/echo, asked for say with X=1", r.stdout, asked)
	}
}

func TestStdoutAndStderrStayApartWithoutATTY(t *testing.T) {
	r := execute(t, sh("echo out; echo err >&2"), Env{}, nil, nil, nil)
	if r.stdout != "out\n" || r.stderr != "err\n" {
		t.Errorf("stdout %q, stderr %q; want out and err apart", r.stdout, r.stderr)
	}
}

func TestStdinIsForwardedAndItsEndEndsTheCommand(t *testing.T) {
	req := Request{Argv: []string{"cat"}, Stdin: true}
	r := execute(t, req, Env{}, strings.NewReader("hello\nno newline at the end"), nil, nil)
	if r.status != 0 || r.err != nil || r.stdout != "hello\nno newline at the end" {
		t.Errorf("cat: status %d, %v, printed %q", r.status, r.err, r.stdout)
	}
}

func TestWithoutStdinTheCommandReadsNothing(t *testing.T) {
	r := execute(t, Request{Argv: []string{"cat"}}, Env{}, strings.NewReader("not for cat"), nil, nil)
	if r.status != 0 || r.stdout != "" {
		t.Errorf("cat: status %d, printed %q; want 0 and nothing", r.status, r.stdout)
	}
}

func TestMebibytesPassBothWaysIntact(t *testing.T) {
	in := make([]byte, 6<<20+123)
	if _, err := rand.Read(in); err != nil {
		t.Fatal(err)
	}
	r := execute(t, Request{Argv: []string{"cat"}, Stdin: true}, Env{}, bytes.NewReader(in), nil, nil)
	if r.err != nil || !bytes.Equal([]byte(r.stdout), in) {
		t.Errorf("cat of %d bytes: %v, got %d bytes back, equal %v", len(in), r.err, len(r.stdout), bytes.Equal([]byte(r.stdout), in))
	}
}

// counting counts the Writes on one end of a stream.
type counting struct {
	net.Conn
	mu     sync.Mutex
	writes int
}

func (c *counting) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func TestACommandThatPrintsNothingCostsOneFrameEachWay(t *testing.T) {
	h, g := net.Pipe()
	host, guest := &counting{Conn: h}, &counting{Conn: g}
	served := make(chan error, 1)
	go func() { served <- Serve(context.Background(), guest, Env{}) }()
	status, err := Run(context.Background(), host, Request{Argv: []string{"true"}}, nil, nil, nil, nil)
	if served := <-served; status != 0 || err != nil || served != nil {
		t.Fatalf("true: status %d, %v (guest: %v)", status, err, served)
	}
	if host.writes != 1 || guest.writes != 1 {
		t.Errorf("host wrote %d times, guest %d; want the request and the exit status alone", host.writes, guest.writes)
	}
}

// lineSignal passes each complete line written to it on lines.
type lineSignal struct {
	buf   bytes.Buffer
	lines chan string
}

func (l *lineSignal) Write(p []byte) (int, error) {
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadString('\n')
		if err != nil {
			l.buf.WriteString(line) // not whole yet
			return len(p), nil
		}
		l.lines <- strings.TrimRight(line, "\r\n")
	}
}

func TestCancellingKillsTheCommandAndWhatItStarted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	host, guest := net.Pipe()
	served := make(chan error, 1)
	go func() { served <- Serve(context.Background(), guest, Env{}) }()
	out := &lineSignal{lines: make(chan string, 4)}
	ran := make(chan error, 1)
	go func() {
		_, err := Run(ctx, host, sh("sleep 600 & echo $!; wait"), nil, out, nil, nil)
		ran <- err
	}()
	pid, err := strconv.Atoi(<-out.lines)
	if err != nil {
		t.Fatalf("the background sleep's pid: %v", err)
	}
	cancel()
	if err := <-ran; !errors.Is(err, context.Canceled) {
		t.Errorf("Run after cancel: %v, want context.Canceled", err)
	}
	if err := <-served; err == nil {
		t.Error("Serve returned nil, want it to say it killed the command")
	}
	for deadline := time.Now().Add(10 * time.Second); alive(pid); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("sleep (pid %d), started by the command, still runs after the cancel", pid)
		}
	}
}

// alive says pid runs: it exists and is not a zombie waiting to be reaped.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, _ := bytes.Cut(b, []byte(") "))
	return len(rest) > 0 && rest[0] != 'Z'
}
