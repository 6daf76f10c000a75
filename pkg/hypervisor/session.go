package hypervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// ErrReconnecting is what calls fail with while libvirtd is away.
var ErrReconnecting = errors.New("libvirtd is not reachable; reconnecting")

// Session is a Hypervisor that outlives libvirtd: when the connection is
// lost (libvirtd restarted) it reconnects with backoff, calls in between
// fail with ErrReconnecting, and its event streams carry on across
// connections. A daemon holds one for its whole life.
type Session struct {
	uri string
	log *slog.Logger

	mu    sync.Mutex
	cur   *Libvirt      // nil while reconnecting
	ready chan struct{} // closed while cur is set
	err   error         // why the last attempt failed
	stop  context.CancelFunc
	// probing holds the connections a ping is out on (see suspect).
	probing map[*Libvirt]bool
	// answered is when libvirtd last answered any call (unix ns): a
	// libvirtd busy with twenty destroys answers late, yet answers.
	answered atomic.Int64
	// events is the one lifecycle subscription each connection makes.
	events fanout
}

// Dial keeps a connection to libvirtd up until Close. A libvirtd not
// reachable now is not an error: calls fail with ErrReconnecting (and
// why) until it is, as a daemon started before libvirtd must carry on.
func Dial(ctx context.Context, uri string, log *slog.Logger) *Session {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	keep, stop := context.WithCancel(context.Background())
	s := &Session{uri: uri, log: log, stop: stop, ready: make(chan struct{}), probing: map[*Libvirt]bool{}}
	s.events.subs = map[chan Event]struct{}{}
	l, err := Connect(ctx, uri)
	if err != nil {
		s.err = err
		log.Warn("libvirtd is not reachable; will keep trying", "uri", uri, "err", err)
	} else {
		s.set(l)
	}
	go s.keep(keep)
	return s
}

func (s *Session) set(l *Libvirt) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur = l
	if l != nil {
		s.err = nil
		close(s.ready)
	} else {
		s.ready = make(chan struct{})
	}
}

// keep pings the connection while it is up, waits for it to drop (or
// be dropped as stalled) and makes a new one.
func (s *Session) keep(ctx context.Context) {
	ping := time.NewTicker(keepaliveEvery)
	defer ping.Stop()
	for {
		s.mu.Lock()
		cur := s.cur
		s.mu.Unlock()
		if cur != nil {
			go s.relay(ctx, cur)
		wait:
			for {
				select {
				case <-ctx.Done():
					return
				case <-ping.C:
					s.suspect(cur)
				case <-cur.lost():
					break wait
				}
			}
			s.set(nil)
			s.log.Warn("lost the libvirt connection; reconnecting", "uri", s.uri)
		}
		b := backoff.NewExponentialBackOff()
		b.InitialInterval, b.MaxInterval = 100*time.Millisecond, 5*time.Second
		l, err := backoff.Retry(ctx, func() (*Libvirt, error) {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			return Connect(cctx, s.uri)
		}, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(0), backoff.WithNotify(func(err error, _ time.Duration) {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
		}))
		if err != nil {
			return // ctx ended
		}
		s.log.Info("reconnected to libvirt", "uri", s.uri)
		s.set(l)
	}
}

// conn is the live connection, or ErrReconnecting.
func (s *Session) conn() (*Libvirt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		if s.err != nil {
			return nil, fmt.Errorf("%w: %v", ErrReconnecting, s.err)
		}
		return nil, ErrReconnecting
	}
	return s.cur, nil
}

// wait blocks until connected or ctx ends.
func (s *Session) wait(ctx context.Context) (*Libvirt, error) {
	for {
		s.mu.Lock()
		cur, ready := s.cur, s.ready
		s.mu.Unlock()
		if cur != nil {
			return cur, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ready:
		}
	}
}

// Connected says whether libvirtd answers now, or why not.
func (s *Session) Connected() (bool, string) {
	if _, err := s.conn(); err != nil {
		return false, err.Error()
	}
	return true, "connected"
}

// URI is the libvirt URI the session keeps connected.
func (s *Session) URI() string { return s.uri }

// Close stops reconnecting and closes the connection.
func (s *Session) Close() error {
	s.stop()
	s.mu.Lock()
	cur := s.cur
	s.mu.Unlock()
	if cur != nil {
		return cur.Close()
	}
	return nil
}

// Every call goes through call (call.go): it returns when ctx ends even
// if libvirtd never answers.

func (s *Session) Accel(ctx context.Context) (Accel, string, error) {
	type accel struct {
		a   Accel
		why string
	}
	r, err := call(ctx, s, "ask libvirtd for KVM", false, func(l *Libvirt) (accel, error) {
		a, why, err := l.Accel(ctx)
		return accel{a, why}, err
	})
	return r.a, r.why, err
}

func (s *Session) Define(ctx context.Context, spec *DomainSpec) error {
	return do(ctx, s, "define "+spec.Name, func(l *Libvirt) error { return l.Define(ctx, spec) })
}

func (s *Session) SetMetadata(ctx context.Context, name, xml string) error {
	return do(ctx, s, "set the metadata of "+name, func(l *Libvirt) error { return l.SetMetadata(ctx, name, xml) })
}

func (s *Session) Create(ctx context.Context, spec *DomainSpec, paused bool) error {
	return do(ctx, s, "create "+spec.Name, func(l *Libvirt) error { return l.Create(ctx, spec, paused) })
}

func (s *Session) Version(ctx context.Context) (string, error) {
	return call(ctx, s, "ask libvirtd for QEMU's version", false, func(l *Libvirt) (string, error) { return l.Version(ctx) })
}

// SaveState and LoadState stream a whole machine: only the caller's ctx
// bounds them.
func (s *Session) SaveState(ctx context.Context, name, dir string, w io.Writer) error {
	_, err := call(ctx, s, "save the state of "+name, true, func(l *Libvirt) (struct{}, error) { return struct{}{}, l.SaveState(ctx, name, dir, w) })
	return err
}

func (s *Session) LoadState(ctx context.Context, name string, r io.Reader) error {
	_, err := call(ctx, s, "load the state of "+name, true, func(l *Libvirt) (struct{}, error) { return struct{}{}, l.LoadState(ctx, name, r) })
	return err
}

func (s *Session) Start(ctx context.Context, name string, paused bool) error {
	return do(ctx, s, "start "+name, func(l *Libvirt) error { return l.Start(ctx, name, paused) })
}

func (s *Session) Resume(ctx context.Context, name string) error {
	return do(ctx, s, "resume "+name, func(l *Libvirt) error { return l.Resume(ctx, name) })
}

func (s *Session) KillQEMU(ctx context.Context, name string) error {
	return do(ctx, s, "kill the QEMU of "+name, func(l *Libvirt) error { return l.KillQEMU(ctx, name) })
}

func (s *Session) SetLink(ctx context.Context, name string, up bool) error {
	return do(ctx, s, "set the network link of "+name, func(l *Libvirt) error { return l.SetLink(ctx, name, up) })
}

// LibvirtdPID is the pid of the libvirtd the session is connected to
// (see Libvirt.LibvirtdPID); it asks libvirtd nothing.
func (s *Session) LibvirtdPID() (int, error) {
	l, err := s.conn()
	if err != nil {
		return 0, err
	}
	return l.LibvirtdPID()
}

func (s *Session) Pause(ctx context.Context, name string) error {
	return do(ctx, s, "pause "+name, func(l *Libvirt) error { return l.Pause(ctx, name) })
}

func (s *Session) SetCPUQuota(ctx context.Context, name string, quota int64) error {
	return do(ctx, s, "set the CPU quota of "+name, func(l *Libvirt) error { return l.SetCPUQuota(ctx, name, quota) })
}

func (s *Session) SetMemoryHardLimit(ctx context.Context, name string, bytes int64) error {
	return do(ctx, s, "set the memory limit of "+name, func(l *Libvirt) error { return l.SetMemoryHardLimit(ctx, name, bytes) })
}

func (s *Session) ForwardPort(ctx context.Context, name string, hostPort, guestPort int) error {
	return do(ctx, s, "forward a port to "+name, func(l *Libvirt) error { return l.ForwardPort(ctx, name, hostPort, guestPort) })
}

func (s *Session) Shutdown(ctx context.Context, name string) error {
	return do(ctx, s, "shut down "+name, func(l *Libvirt) error { return l.Shutdown(ctx, name) })
}

func (s *Session) Destroy(ctx context.Context, name string) error {
	return do(ctx, s, "destroy "+name, func(l *Libvirt) error { return l.Destroy(ctx, name) })
}

func (s *Session) Undefine(ctx context.Context, name string) error {
	return do(ctx, s, "undefine "+name, func(l *Libvirt) error { return l.Undefine(ctx, name) })
}

func (s *Session) Domains(ctx context.Context) ([]Domain, error) {
	return call(ctx, s, "list domains", false, func(l *Libvirt) ([]Domain, error) { return l.Domains(ctx) })
}

func (s *Session) Limits(ctx context.Context, name string) (Limits, error) {
	return call(ctx, s, "read the limits of "+name, false, func(l *Libvirt) (Limits, error) { return l.Limits(ctx, name) })
}

func (s *Session) AgentSocket(ctx context.Context, name, port string) (string, error) {
	return call(ctx, s, "find the agent socket of "+name, false, func(l *Libvirt) (string, error) { return l.AgentSocket(ctx, name, port) })
}

func (s *Session) PSS(ctx context.Context, name string) (uint64, error) {
	return call(ctx, s, "read the memory of "+name, false, func(l *Libvirt) (uint64, error) { return l.PSS(ctx, name) })
}

func (s *Session) QEMUProcess(ctx context.Context, name string) (Process, error) {
	return call(ctx, s, "find the QEMU of "+name, false, func(l *Libvirt) (Process, error) { return l.QEMUProcess(ctx, name) })
}

func (s *Session) Stats(ctx context.Context) (map[string]Stats, error) {
	return call(ctx, s, "read domain stats", false, func(l *Libvirt) (map[string]Stats, error) { return l.Stats(ctx) })
}

var _ Hypervisor = (*Session)(nil)
