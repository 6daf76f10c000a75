package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Daemon says how to reach a home's daemon and, when none answers, how
// to start one.
type Daemon struct {
	// Socket is the daemon's unix socket (home.Home.Socket).
	Socket string
	// Binary is the vmfleet executable that runs `daemon`.
	Binary string
	// Args go before "daemon": --home, --connect, --log-level.
	Args []string
	// Log is the file the started daemon writes to.
	Log string
}

// Ensure returns a client of the daemon, starting one when none answers.
// started says whether it did (the CLI says so in one line).
func Ensure(ctx context.Context, d Daemon) (c *Client, started int, err error) {
	c = Unix(d.Socket)
	if _, err := c.Info(ctx); err == nil {
		return c, 0, nil
	} else if !errors.Is(err, ErrNoDaemon) {
		return nil, 0, err
	}
	logf, err := os.OpenFile(d.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("daemon log: %w", err)
	}
	defer logf.Close()
	start, _ := logf.Seek(0, 2)
	cmd := exec.Command(d.Binary, append(append([]string{}, d.Args...), "daemon")...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlives this terminal
	if err := cmd.Start(); err != nil {
		return nil, 0, fmt.Errorf("start the daemon: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(60 * time.Second)
	for {
		if _, err := c.Info(ctx); err == nil {
			pid := cmd.Process.Pid // Release forgets it
			_ = cmd.Process.Release()
			return c, pid, nil
		}
		select {
		case err := <-exited:
			// Another client may have started one at the same moment.
			if _, ierr := c.Info(ctx); ierr == nil {
				return c, 0, nil
			}
			return nil, 0, fmt.Errorf("the daemon exited (%v): %s", err, startError(d.Log, start))
		case <-deadline:
			return nil, 0, fmt.Errorf("the daemon did not answer within 60s; see %s", d.Log)
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// startError finds why a daemon that failed to start did: the first error
// it printed to its log since from. The first is the cause (the worker's
// "open store: ..."); what follows is the supervisor giving up on it.
func startError(path string, from int64) string {
	b, _ := os.ReadFile(path)
	if int(from) <= len(b) {
		b = b[from:]
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for _, l := range lines {
		if msg, ok := strings.CutPrefix(l, "vmfleet: "); ok {
			return msg
		}
	}
	if len(lines) > 0 && lines[len(lines)-1] != "" {
		return lines[len(lines)-1]
	}
	return "no output; see " + path
}
