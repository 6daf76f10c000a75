// Package balancer is a round-robin TCP load balancer for one service, in
// the role an AWS Elastic Load Balancer plays in front of a group of
// instances: targets are registered and deregistered by the caller, enter
// rotation only once their health check passes, and drain on the way out.
// It knows nothing of VMs; targets are host:port addresses.
//
// A connection is retried on the next target not only when the connect
// fails but also when the target closes or resets it before sending a
// byte: then what the client has sent so far is replayed there. Targets
// behind QEMU's user-mode networking need that, since QEMU accepts on the
// guest's behalf; see Options.ReplayLimit and pipeReplaying for the why
// and the cost (a request may reach two targets), and Options.NoReplay to
// turn it off.
package balancer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vmfleet/vmfleet/pkg/health"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

// Defaults for Options.
const (
	// DefaultConnectTimeout bounds a dial to one target. Targets sit on the
	// same machine, so anything slower than this is as good as down and the
	// client is better served by the next target.
	DefaultConnectTimeout = 2 * time.Second
	// DefaultReplayLimit is how much of what a client sends before the
	// first byte of the answer the balancer keeps for a replay.
	DefaultReplayLimit = 64 << 10
)

// maxReplays bounds how often one client connection is replayed on
// another target; it is also never replayed on a target it already tried.
const maxReplays = 3

var (
	// ErrClosed is returned by operations on a closed Balancer.
	ErrClosed = errors.New("balancer closed")
	// ErrUnknownTarget is returned for an address that is not registered.
	ErrUnknownTarget = errors.New("unknown target")
	// ErrDraining is returned when registering a target that is still
	// being deregistered.
	ErrDraining = errors.New("target is draining")
)

// Options configure a Balancer. Zero fields take defaults.
type Options struct {
	// Check is the health check run against every target; zero fields
	// take the ALB defaults of package health.
	Check health.Check
	// Probe runs the health checks; nil runs them from the host.
	Probe health.Prober
	// Watch, if set, has the checks run where the targets are, reporting
	// only changes (see health.Watcher); Probe is then the fallback.
	Watch health.Watcher
	// ConnectTimeout bounds each dial to a target; zero means
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// DeregistrationDelay is how long in-flight connections of a
	// deregistered target may run before they are closed. Zero means
	// limits.DefaultDeregistrationDelay; negative means close them at once.
	DeregistrationDelay time.Duration
	// ReplayLimit is how many bytes of a client's request the balancer
	// keeps, until the target's first byte of answer, so that it can
	// replay the connection on the next target if this one closes or
	// resets it without answering (see the package documentation). A
	// connection whose client sends more than this before any answer is
	// not replayed. Zero means DefaultReplayLimit; it must not be
	// negative.
	ReplayLimit int
	// NoReplay turns replay off: a target that closes or resets a
	// connection before answering closes the client's too, and no request
	// is ever sent to a second target. For services that must not process
	// a request twice (see pipeReplaying for the trade-off).
	NoReplay bool
	// OnTransition, if set, is told of every health change of a registered
	// target, after the balancer has acted on it. It is called from that
	// target's checker goroutine: calls for one target are ordered and a
	// slow callback only delays that target's next probe. It may call
	// Register, Deregister and Targets, but not Close.
	OnTransition func(health.Transition)
	// Logger receives health transitions and errors; nil discards.
	Logger *slog.Logger
}

// TargetStatus is a snapshot of one registered target.
type TargetStatus struct {
	Addr        string
	State       health.State
	Draining    bool
	ActiveConns int
	// Replays counts the client connections this target closed or reset
	// before answering that were replayed on another target.
	Replays int64
	// Connections counts the client connections sent to the target.
	Connections int64
	// BytesIn (client to target) and BytesOut count the bytes of the
	// target's finished connections: a byte is counted when its direction
	// of a connection ends, so splice(2) carries them untouched.
	BytesIn, BytesOut int64
	// Reason says why the target is not healthy, as an ELB target
	// group's TargetHealth.Reason does; empty when healthy.
	Reason string
	// Detail is the last failed probe's error, for an unhealthy target.
	Detail string
}

// ELB target health reasons (elbv2 TargetHealth.Reason).
const (
	ReasonInitial       = "Elb.InitialHealthChecking"
	ReasonFailedChecks  = "Target.FailedHealthChecks"
	ReasonTimeout       = "Target.Timeout"
	ReasonResponseCode  = "Target.ResponseCodeMismatch"
	ReasonDeregistering = "Target.DeregistrationInProgress"
)

// Balancer spreads TCP connections over its healthy targets in turn.
// Its methods are safe for concurrent use.
type Balancer struct {
	check        health.Check
	probe        health.Prober
	watch        health.Watcher
	dialer       net.Dialer
	drainDelay   time.Duration
	replayLimit  int // negative: replay off
	onTransition func(health.Transition)
	log          *slog.Logger

	// ctx ends at Close; everything the balancer starts derives from it.
	ctx    context.Context
	cancel context.CancelFunc
	// accepting ends at Shutdown or Close: no new connections, while
	// those in flight go on until ctx ends.
	accepting     context.Context
	stopAccepting context.CancelFunc
	wg            sync.WaitGroup
	// serving counts Serve calls, whose connections Shutdown waits for.
	serving sync.WaitGroup

	mu sync.Mutex
	// closed means Close began: nothing new, and the connections go.
	closed bool
	// stopping means Shutdown began: no new listener or target, while the
	// connections already accepted still reach targets.
	stopping bool
	targets  []*target // registration order
	byAddr   map[string]*target
	rotation []*target // healthy, not draining, registration order
	next     int       // index into rotation of the next target to try
}

type target struct {
	addr string

	// Guarded by Balancer.mu.
	state     health.State
	draining  bool
	removed   bool
	conns     map[*proxyConn]struct{}
	replays   int64
	total     int64 // connections sent to it
	bytesIn   int64
	bytesOut  int64
	detail    string        // the last failed probe's error
	drained   chan struct{} // closed once draining with no connections
	stopCheck context.CancelFunc
}

// New returns a Balancer with no targets.
func New(opts Options) (*Balancer, error) {
	check := opts.Check.WithDefaults()
	if err := check.Validate(); err != nil {
		return nil, fmt.Errorf("new balancer: %w", err)
	}
	connectTimeout := opts.ConnectTimeout
	if connectTimeout < 0 {
		return nil, fmt.Errorf("new balancer: connect timeout %v is negative", connectTimeout)
	}
	if connectTimeout == 0 {
		connectTimeout = DefaultConnectTimeout
	}
	drainDelay := opts.DeregistrationDelay
	switch {
	case drainDelay == 0:
		drainDelay = limits.DefaultDeregistrationDelay
	case drainDelay < 0:
		drainDelay = 0
	}
	replayLimit := opts.ReplayLimit
	switch {
	case replayLimit < 0:
		return nil, fmt.Errorf("new balancer: replay limit %d is negative; set NoReplay to turn replay off", replayLimit)
	case opts.NoReplay:
		replayLimit = -1
	case replayLimit == 0:
		replayLimit = DefaultReplayLimit
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	accepting, stopAccepting := context.WithCancel(ctx)
	return &Balancer{
		accepting:     accepting,
		stopAccepting: stopAccepting,
		check:         check,
		probe:         opts.Probe,
		watch:         opts.Watch,
		dialer:        net.Dialer{Timeout: connectTimeout},
		drainDelay:    drainDelay,
		replayLimit:   replayLimit,
		onTransition:  opts.OnTransition,
		log:           log,
		ctx:           ctx,
		cancel:        cancel,
		byAddr:        make(map[string]*target),
	}, nil
}

// Register adds the target addr (host:port) and starts health-checking it.
// It gets connections only once the check reports it Healthy. Registering
// a target that is already registered does nothing, as on ELB.
func (b *Balancer) Register(addr string) error { return b.register(addr, health.Initial) }

// RegisterHealthy adds a target that is known to be in service already,
// such as one adopted by a restarted controller: it gets connections at
// once, and its health check takes it out if it fails.
func (b *Balancer) RegisterHealthy(addr string) error { return b.register(addr, health.Healthy) }

func (b *Balancer) register(addr string, initial health.State) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("register %q: %w", addr, err)
	}
	t := &target{addr: addr, state: initial, conns: make(map[*proxyConn]struct{}), drained: make(chan struct{})}
	checker, err := health.NewChecker(addr, health.Options{
		Initial:      initial,
		Check:        b.check,
		Probe:        b.probe,
		Watch:        b.watch,
		OnTransition: func(tr health.Transition) { b.transition(t, tr) },
		Logger:       b.log,
	})
	if err != nil {
		return fmt.Errorf("register %s: %w", addr, err)
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.refusing() {
		return fmt.Errorf("register %s: %w", addr, ErrClosed)
	}
	if old, ok := b.byAddr[addr]; ok {
		if old.draining {
			return fmt.Errorf("register %s: %w", addr, ErrDraining)
		}
		return nil
	}
	ctx, cancel := context.WithCancel(b.ctx)
	t.stopCheck = cancel
	b.targets = append(b.targets, t)
	b.byAddr[addr] = t
	b.rebuildRotation()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		checker.Run(ctx)
	}()
	return nil
}

// transition applies a health change reported by t's checker.
func (b *Balancer) transition(t *target, tr health.Transition) {
	b.mu.Lock()
	if t.draining || t.removed {
		// Deregistration has taken over; its checker is on its way out.
		b.mu.Unlock()
		return
	}
	t.state = tr.To
	if tr.To == health.Unhealthy {
		t.detail = tr.Reason
	}
	b.rebuildRotation()
	b.mu.Unlock()

	// The checker has already logged the change.
	if b.onTransition != nil {
		b.onTransition(tr)
	}
}

// rebuildRotation must be called with b.mu held after any change to the
// set of targets eligible for new connections.
func (b *Balancer) rebuildRotation() {
	b.rotation = b.rotation[:0]
	for _, t := range b.targets {
		if t.state == health.Healthy && !t.draining && !t.removed {
			b.rotation = append(b.rotation, t)
		}
	}
}

// Deregister takes addr out of rotation at once, lets its in-flight
// connections run for up to the deregistration delay, closes whatever is
// still open, and returns once the target is gone. Its health check stops
// immediately and no further transitions are reported for it.
//
// If ctx ends or the balancer is closed first, the remaining connections
// are closed right away; the target is removed either way and the error
// says the drain was cut short.
func (b *Balancer) Deregister(ctx context.Context, addr string) error {
	b.mu.Lock()
	t, ok := b.byAddr[addr]
	if !ok {
		b.mu.Unlock()
		return fmt.Errorf("deregister %s: %w", addr, ErrUnknownTarget)
	}
	if !t.draining {
		t.draining = true
		t.stopCheck()
		b.rebuildRotation()
		t.closeDrainedIfIdle()
		b.log.Info("draining target", "target", addr, "connections", len(t.conns), "delay", b.drainDelay)
	}
	b.mu.Unlock()

	timer := time.NewTimer(b.drainDelay)
	defer timer.Stop()
	var cutShort error
	select {
	case <-t.drained:
	case <-timer.C:
	case <-ctx.Done():
		cutShort = ctx.Err()
	case <-b.ctx.Done():
		cutShort = ErrClosed
	}

	b.mu.Lock()
	open := make([]*proxyConn, 0, len(t.conns))
	for pc := range t.conns {
		open = append(open, pc)
	}
	b.mu.Unlock()
	if len(open) > 0 {
		b.log.Info("closing connections still open after draining", "target", addr, "connections", len(open))
	}
	for _, pc := range open {
		// Only if it is still t's: a connection replayed elsewhere
		// in the meantime is no longer part of this drain.
		pc.closeIf(t)
	}
	// Closing both sockets ends the copies, so this is not a long wait.
	<-t.drained

	b.mu.Lock()
	if !t.removed {
		t.removed = true
		delete(b.byAddr, addr)
		b.targets = slices.DeleteFunc(b.targets, func(x *target) bool { return x == t })
	}
	b.mu.Unlock()

	if cutShort != nil {
		return fmt.Errorf("deregister %s: drain cut short: %w", addr, cutShort)
	}
	return nil
}

// Targets returns a snapshot of the registered targets, including those
// draining, in registration order.
func (b *Balancer) Targets() []TargetStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]TargetStatus, 0, len(b.targets))
	for _, t := range b.targets {
		out = append(out, TargetStatus{Addr: t.addr, State: t.state, Draining: t.draining, ActiveConns: len(t.conns), Replays: t.replays,
			Connections: t.total, BytesIn: t.bytesIn, BytesOut: t.bytesOut, Reason: t.reason(), Detail: t.detail})
	}
	return out
}

// Close stops accepting on every listener, closes all proxied connections,
// stops the health checks and waits until everything the balancer started
// has finished. Draining targets are cut short. Close is idempotent.
// Shutdown stops accepting at once and lets the connections in flight
// finish until ctx ends, then closes; like http.Server.Shutdown. Under a
// supervisor the listening socket stays open, so connections arriving
// meanwhile wait for the next process instead of being refused.
func (b *Balancer) Shutdown(ctx context.Context) error {
	b.mu.Lock()
	b.stopping = true
	b.mu.Unlock()
	b.stopAccepting()
	done := make(chan struct{})
	go func() {
		b.serving.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return b.Close()
}

func (b *Balancer) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	b.wg.Wait()
	return nil
}

// refusing says whether the balancer takes no new listener or target;
// Balancer.mu held.
func (b *Balancer) refusing() bool { return b.closed || b.stopping }

// reason is the target's ELB reason; Balancer.mu held.
func (t *target) reason() string {
	switch {
	case t.draining:
		return ReasonDeregistering
	case t.state == health.Initial:
		return ReasonInitial
	case t.state == health.Unhealthy:
		switch {
		case strings.Contains(t.detail, "timeout") || strings.Contains(t.detail, "deadline exceeded"):
			return ReasonTimeout
		case strings.Contains(t.detail, "status"):
			return ReasonResponseCode
		}
		return ReasonFailedChecks
	}
	return ""
}
