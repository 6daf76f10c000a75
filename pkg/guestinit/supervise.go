package guestinit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmfleet/vmfleet/pkg/guestconfig"
	"github.com/vmfleet/vmfleet/pkg/guestlayout"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

// supervise runs the service chrooted into the image's root, reaps every
// orphan that is re-parented to PID 1, and turns a stop request (power
// button, Ctrl-Alt-Del, SIGTERM) into SIGTERM for the service, then SIGKILL
// after the stop timeout. It returns the service's exit status.
func supervise(ctx context.Context, in *Init) int {
	c := in.Config
	cmd := exec.Command(c.Command[0], c.Command[1:]...)
	cmd.Env = serviceEnv(c)
	cmd.Dir = c.WorkDir
	if cmd.Dir == "" {
		cmd.Dir = "/"
	}
	cmd.Stdout, cmd.Stderr = in.Console, in.Console
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: guestlayout.NewRoot, Setsid: true}
	// exec.Command looks the name up on the initramfs; the service's PATH
	// lives inside the chroot.
	cmd.Path, cmd.Err = lookPathIn(guestlayout.NewRoot, servicePath(cmd.Env), c.Command[0])

	stop := make(chan string, 4)
	watchStopRequests(ctx, stop)

	// Reap with our own SIGCHLD loop: orphans of the service land on PID 1.
	sigchld := make(chan os.Signal, 16)
	signal.Notify(sigchld, unix.SIGCHLD)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(in.Console, "vmfleet-init: start %q: %v\n", c.Command[0], err)
		return 127
	}
	pid := cmd.Process.Pid
	var kill <-chan time.Time
	for {
		select {
		case why := <-stop:
			if kill == nil {
				timeout := time.Duration(c.StopTimeout)
				if timeout <= 0 {
					timeout = limits.DefaultStopTimeout
				}
				fmt.Fprintf(in.Console, "vmfleet-init: %s: sending SIGTERM, %s until SIGKILL\n", why, timeout)
				_ = unix.Kill(pid, unix.SIGTERM)
				kill = time.After(timeout)
			}
		case <-kill:
			fmt.Fprintln(in.Console, "vmfleet-init: stop timeout reached: sending SIGKILL")
			_ = unix.Kill(-pid, unix.SIGKILL)
			_ = unix.Kill(pid, unix.SIGKILL)
		case <-sigchld:
			if status, done := in.children.reap(pid); done {
				return status
			}
		}
	}
}

// serviceEnv is the service's environment, which exec'd commands share.
func serviceEnv(c *guestconfig.Config) []string {
	return append([]string{
		"PATH=" + defaultPath,
		"HOME=/root",
		"HOSTNAME=" + c.Hostname,
	}, c.Env...)
}
