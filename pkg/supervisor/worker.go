package supervisor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
)

// Listeners hands out listening sockets: the supervisor's when the
// process runs under one, else its own.
type Listeners struct {
	mu      sync.Mutex
	control *net.UnixConn // nil when not supervised
}

// Supervised reports whether this process is a supervised worker.
func Supervised() bool { return os.Getenv(EnvSupervised) == "1" }

// Worker returns the API listener and the listener source the supervisor
// handed this process. Not supervised, it returns nil for the API
// listener and a source that listens itself.
func Worker() (api net.Listener, ls *Listeners, err error) {
	ls = &Listeners{}
	if !Supervised() {
		return nil, ls, nil
	}
	apiFile := os.NewFile(apiFD, "api")
	api, err = net.FileListener(apiFile)
	apiFile.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("supervisor: API listener: %w", err)
	}
	cf := os.NewFile(controlFD, "control")
	c, err := net.FileConn(cf)
	cf.Close()
	if err != nil {
		api.Close()
		return nil, nil, fmt.Errorf("supervisor: control socket: %w", err)
	}
	ls.control = c.(*net.UnixConn)
	return api, ls, nil
}

// Listen returns a TCP listener on addr. Under a supervisor it is a
// duplicate of the supervisor's socket for that address, kept open
// across this process's death.
func (l *Listeners) Listen(ctx context.Context, addr string) (net.Listener, error) {
	if l.control == nil {
		var lc net.ListenConfig
		return lc.Listen(ctx, "tcp", addr)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := send(l.control, request{Op: "listen", Addr: addr}, -1); err != nil {
		return nil, l.broken(err)
	}
	var r reply
	f, err := recv(l.control, &r)
	if err != nil {
		return nil, l.broken(err)
	}
	if r.Error != "" {
		return nil, errors.New(r.Error)
	}
	if f == nil {
		return nil, fmt.Errorf("listen %s: the supervisor sent no socket", addr)
	}
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln, nil
}

// Release tells the supervisor a listener is no longer wanted, so the
// port closes for good (a service removed, a fleet down).
func (l *Listeners) Release(addr string) {
	if l.control == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := send(l.control, request{Op: "release", Addr: addr}, -1); err != nil {
		l.broken(err)
		return
	}
	var r reply
	if f, err := recv(l.control, &r); err != nil {
		l.broken(err)
	} else if f != nil {
		f.Close()
	}
}

// Ready tells the supervisor this worker has started: from then on a
// worker that dies is started again. One that dies before its first
// Ready makes the supervisor give up, as it would only fail again.
func (l *Listeners) Ready() {
	if l.control == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := send(l.control, request{Op: "ready"}, -1); err == nil {
		var r reply
		if f, err := recv(l.control, &r); err == nil && f != nil {
			f.Close()
		}
	}
}

func (l *Listeners) broken(err error) error {
	return fmt.Errorf("supervisor: %w", err)
}
