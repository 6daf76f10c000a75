package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Config is what the supervisor runs.
type Config struct {
	// Worker makes the command of a new worker; the supervisor adds the
	// descriptors and the environment.
	Worker func() *exec.Cmd
	// API is the listener the workers serve the API on.
	API *net.UnixListener
	Log *slog.Logger
}

// Run starts the worker and starts it again whenever it dies, until ctx
// ends (then it stops the worker with SIGTERM and returns) or the worker
// exits with status 0 (a requested shutdown). SIGHUP restarts the worker
// on purpose: a new binary takes over the same sockets (an upgrade).
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	apiFile, err := cfg.API.File()
	if err != nil {
		return fmt.Errorf("supervisor: API socket: %w", err)
	}
	defer apiFile.Close()
	h := &holder{held: map[string]*os.File{}}
	defer h.closeAll()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	// A crash loop's restarts wait 200 ms, doubling to 3.2 s, no jitter;
	// the first crash after a quiet spell restarts at once.
	crashes := &backoff.ExponentialBackOff{InitialInterval: 200 * time.Millisecond, Multiplier: 2, MaxInterval: 3200 * time.Millisecond}
	quiet := true
	for {
		started := time.Now()
		code, err := runWorker(ctx, cfg.Worker(), apiFile, h, hup, log)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil && code == 0 {
			return nil // the worker was asked to shut down
		}
		if errors.Is(err, errRestart) {
			crashes.Reset()
			quiet = true
			continue
		}
		// A worker that never got ready (a bad flag, a locked store)
		// would only fail again: give up and say so.
		if !h.wasReady() {
			return fmt.Errorf("the daemon's worker failed before it was ready (%v); see its log", err)
		}
		// A crash: start again at once, but back off a crash loop.
		if time.Since(started) > 10*time.Second {
			crashes.Reset()
			quiet = true
		}
		delay := time.Duration(0)
		if !quiet {
			delay = crashes.NextBackOff()
		}
		quiet = false
		log.Warn("worker died; starting another", "code", code, "err", err, "after", delay)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
	}
}

var errRestart = errors.New("restart requested")

// runWorker runs one worker until it exits, serving its listener requests.
func runWorker(ctx context.Context, cmd *exec.Cmd, apiFile *os.File, h *holder, hup <-chan os.Signal, log *slog.Logger) (int, error) {
	control, child, err := socketpair()
	if err != nil {
		return -1, err
	}
	defer control.Close()
	cmd.ExtraFiles = []*os.File{apiFile, child} // fds 3 and 4
	cmd.Env = append(cmd.Environ(), EnvSupervised+"=1")
	// The worker must not outlive its supervisor: it would hold instances
	// with no one to restart it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		child.Close()
		return -1, fmt.Errorf("supervisor: start worker: %w", err)
	}
	child.Close()
	log.Info("worker started", "pid", cmd.Process.Pid)
	go h.serve(control, log)

	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	restart := false
	for {
		select {
		case err := <-exited:
			if restart {
				return -1, errRestart
			}
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return ee.ExitCode(), err
			}
			return 0, err
		case <-ctx.Done():
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(60 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
			return 0, nil
		case <-hup:
			log.Info("SIGHUP: replacing the worker")
			restart = true
			_ = cmd.Process.Signal(syscall.SIGTERM)
		}
	}
}

// holder owns the listening sockets across workers.
type holder struct {
	mu    sync.Mutex          // a dying worker's requests may overlap the next one's
	held  map[string]*os.File // by bound address
	ready bool                // some worker has said it is ready
}

func (h *holder) wasReady() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ready
}

func (h *holder) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, f := range h.held {
		f.Close()
	}
}

// serve answers one worker's requests until it goes away. One worker at a
// time talks to the holder, so it needs no lock.
func (h *holder) serve(c *net.UnixConn, log *slog.Logger) {
	for {
		var req request
		if _, err := recv(c, &req); err != nil {
			return
		}
		h.mu.Lock()
		switch req.Op {
		case "listen":
			f, addr, err := h.listen(req.Addr)
			if err != nil {
				_ = send(c, reply{Error: err.Error()}, -1)
				break
			}
			_ = send(c, reply{Addr: addr}, int(f.Fd()))
		case "ready":
			h.ready = true
			_ = send(c, reply{}, -1)
		case "release":
			if f, ok := h.held[req.Addr]; ok {
				f.Close()
				delete(h.held, req.Addr)
				log.Info("released listener", "addr", req.Addr)
			}
			_ = send(c, reply{}, -1)
		default:
			_ = send(c, reply{Error: "unknown request " + req.Op}, -1)
		}
		h.mu.Unlock()
	}
}

// listen returns the held socket for addr, or a new one.
func (h *holder) listen(addr string) (*os.File, string, error) {
	if f, ok := h.held[addr]; ok {
		return f, addr, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	defer ln.Close() // the file below is a duplicate that stays open
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		return nil, "", err
	}
	bound := ln.Addr().String()
	h.held[bound] = f
	return f, bound, nil
}
