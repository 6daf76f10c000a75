// Package controller is the fleet's Auto Scaling group: for every service
// it keeps the desired number of healthy instances of the current image
// behind the service's balancer, replacing instances that stop, crash or
// turn unhealthy, rolling out new images launch-before-terminate, and
// draining instances on their way out. The truth about instances lives in
// libvirt; a controller started again re-adopts what is running.
package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/vmfleet/vmfleet/pkg/agent"
	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/autoscale"
	"github.com/vmfleet/vmfleet/pkg/balancer"
	"github.com/vmfleet/vmfleet/pkg/cadence"
	"github.com/vmfleet/vmfleet/pkg/health"
	"github.com/vmfleet/vmfleet/pkg/image"
	"github.com/vmfleet/vmfleet/pkg/instance"
	"github.com/vmfleet/vmfleet/pkg/limits"
	"github.com/vmfleet/vmfleet/pkg/stack"
)

const (
	// GuestHostAddr is the host's loopback as a guest on QEMU's user-mode
	// network sees it; discovery addresses point there.
	GuestHostAddr = "10.0.2.2"
	// resyncEvery is the safety net under libvirt's lifecycle events (a
	// missed one, a libvirtd restart): a listing of every domain, two
	// calls each, so not too often.
	resyncEvery = 15 * time.Second
	// drainOnStop bounds how long a stopping controller lets connections
	// in flight finish.
	drainOnStop = 10 * time.Second
)

// Options wire a controller.
type Options struct {
	// Stack is the fleet's resources as stored: the controller reads
	// nothing else of what is desired (launch template versions, groups
	// with their counts, target groups, listeners with the addresses
	// their balancers were bound to).
	Stack *stack.Stack
	// Images are the baked images by service (the daemon bakes before it
	// hands a fleet over).
	Images    map[string]*image.Manifest
	Instances *instance.Manager
	Log       *slog.Logger
	// BootCPUs bounds the CPU caps of instances booting at once: a booting
	// guest under TCG keeps its share of a core busy, and a 2-core machine
	// must stay responsive. Default: the number of CPUs. One instance
	// always may boot.
	BootCPUs               float64
	HealthCheckGracePeriod time.Duration
	// HealthFloors are the least health periods the fleet runs; nil runs
	// limits.EmulationFloors (unit tests with no guest run lower ones).
	HealthFloors *limits.HealthFloors
	// Listeners makes the balancers' listening sockets (the daemon's
	// supervisor keeps them open across restarts); nil listens directly.
	Listeners Listeners
	// SetDesired writes a scaling policy's decision to where desired state
	// is stored, which hands it back through Scale: the controller acts
	// only on what is stored. It runs aside from the controller's
	// goroutine. Nil scales at once (no store: unit tests).
	SetDesired func(ctx context.Context, service string, n int) error
	// Observe is told of every event, from the controller's goroutine.
	Observe func(Event)
	// Links are the daemon's agent channels into the guests: health checks
	// dial through them, and they carry what the guests may reach. Nil
	// checks the forwards directly (unit tests).
	Links *agent.Links
	// HealthFaults fails the health checks of the targets a fault was
	// injected into (vmfleet fault unhealthy); nil for none.
	HealthFaults *health.Faults
}

// Event is something the controller did or saw.
type Event = api.Event

// service is one service's runtime state.
type service struct {
	spec    *stack.Service // its resources as stored
	image   *image.Manifest
	desired int
	bal     *balancer.Balancer
	listen  string // the balancer's actual address
	env     []string
	reach   []int // host ports its guests may reach: dependencies' balancers, egress
	members map[string]*member
	insts   map[string]*instance.Instance
	removed bool // gone from the fleet file: scaled to zero, then dropped
	// launchBackOff paces launches after failures (nil after a success).
	launchBackOff *backoff.ExponentialBackOff
	notBefore     time.Time    // launch backoff after failures
	ln            net.Listener // bound, not yet served (see bind)
	// protected instances are never picked by scale-in.
	protected map[string]bool
	// tracker is the service's target tracking (nil without policies).
	tracker *autoscale.Tracker
	// launchError stops launches after an error retrying cannot cure,
	// until a reload changes the service.
	launchError string
	// scaling is set while a policy's decision is being stored.
	scaling bool
	// refresh is the instance refresh in progress (its id and status),
	// and refreshFailures how many of its instances failed.
	refresh         string
	refreshFailures int
}

// failed counts an instance of the service's launch template that failed
// to launch, to become healthy or to stay so against the refresh in
// progress, if there is one (launched is zero for a launch that failed).
func (s *service) failed(digest string, launched time.Time) {
	r := s.spec.Group.Refresh
	if s.refresh == "" || !r.Active() || digest != s.template() || !launched.IsZero() && launched.Before(r.Start) {
		return
	}
	s.refreshFailures++
}

// followRefresh starts counting failures afresh for a new refresh, or a
// refresh turned rollback.
func (s *service) followRefresh() {
	key := ""
	if r := s.spec.Group.Refresh; r.Active() {
		key = r.FailuresKey()
	}
	if key != s.refresh {
		s.refresh, s.refreshFailures = key, 0
	}
}

// template identifies what a service's instances are launched from: its
// launch template version. A new version (any change to image, cpu,
// memory, egress, user data...) rolls the service, launch before
// terminate.
func (s *service) template() string { return s.spec.LaunchTemplate.Ref() }

// Controller reconciles one fleet.
type Controller struct {
	opts     Options
	log      *slog.Logger
	services map[string]*service
	order    []string // start order: dependencies first

	// Channels into the owner goroutine, which alone touches the state.
	health   chan health.Transition
	metrics  chan observation // the latest second, for the autoscalers
	results  chan func()
	requests chan func()

	mu        sync.Mutex // guards status, the snapshot readers get
	status    api.Fleet
	balancers map[string]*balancer.Balancer // by service, as last published
	down      bool
	downDone  chan struct{}
	// stopGrace is how long an instance taken out of service has to stop
	// before it is destroyed: docker stop's 10 s, or down's -t.
	stopGrace time.Duration
	wg        sync.WaitGroup
	seq       int
	resyncing bool
	running   bool            // Run has adopted and serves the balancers
	ctx       context.Context // the balancers' lifetime, set by Listen
}

// New prepares a controller; Start bakes and listens, Run reconciles.
func New(opts Options) *Controller {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.BootCPUs <= 0 {
		opts.BootCPUs = float64(runtime.NumCPU())
	}
	if opts.HealthCheckGracePeriod == 0 {
		opts.HealthCheckGracePeriod = limits.DefaultHealthCheckGracePeriod
	}
	if opts.HealthFloors == nil {
		f := limits.EmulationFloors()
		opts.HealthFloors = &f
	}
	c := &Controller{
		opts: opts, log: opts.Log, services: map[string]*service{},
		health: make(chan health.Transition, 64), metrics: make(chan observation, 1), results: make(chan func(), 64), requests: make(chan func()),
		downDone: make(chan struct{}), stopGrace: limits.DefaultStopTimeout,
	}
	for _, s := range opts.Stack.Services {
		c.order = append(c.order, s.Name)
		svc := &service{spec: &s, image: opts.Images[s.Name], desired: s.Group.Desired, members: map[string]*member{}, insts: map[string]*instance.Instance{},
			protected: map[string]bool{}}
		c.services[s.Name] = svc
		c.track(svc)
	}
	c.publish() // readers never see an empty fleet as a ready one
	return c
}

func (c *Controller) emit(svc, inst, kind, format string, args ...any) {
	ev := Event{Time: time.Now(), Fleet: c.opts.Stack.Fleet.Name, Service: svc, Instance: inst, Kind: kind, Message: fmt.Sprintf(format, args...)}
	c.log.Info(ev.Message, "kind", kind, "service", svc, "instance", inst)
	if c.opts.Observe != nil {
		c.opts.Observe(ev)
	}
}

// Run adopts what libvirt already runs for this fleet and reconciles until
// ctx ends (the fleet keeps running: a controller started again adopts it)
// or Down finishes (the fleet is gone).
func (c *Controller) Run(ctx context.Context) error {
	defer c.shutdownBalancers()
	hv := c.opts.Instances.HV
	events, err := hv.Events(ctx)
	if err != nil {
		return err
	}
	if err := c.adopt(ctx); err != nil {
		return err
	}
	c.running = true
	for _, name := range c.order {
		c.serve(c.services[name])
	}
	// Time-based work (grace periods, launch backoff) needs no finer
	// resolution; events drive the rest. The tick is on the cadence grid,
	// so it wakes the daemon together with the health checks.
	tick := time.NewTimer(cadence.Until(time.Second))
	defer tick.Stop()
	resync := time.NewTicker(resyncEvery)
	defer resync.Stop()
	c.reconcile(ctx)
	for {
		select {
		case <-ctx.Done():
			c.wg.Wait()
			return nil
		case ev, ok := <-events:
			if !ok {
				return errors.New("lost the libvirt connection")
			}
			c.onLifecycle(ctx, ev)
		case tr := <-c.health:
			c.onHealth(ctx, tr)
		case f := <-c.results:
			f()
		case f := <-c.requests:
			f()
		case m := <-c.metrics:
			c.onMetrics(m)
		case <-resync.C:
			c.resync(ctx)
		case <-tick.C:
			tick.Reset(cadence.Until(time.Second))
		}
		c.reconcile(ctx)
		if c.down && c.empty() {
			c.wg.Wait()
			for _, s := range c.services {
				c.release(s)
			}
			c.emit("", "", "down", "every instance drained and removed")
			close(c.downDone)
			return nil
		}
	}
}

func (c *Controller) empty() bool {
	for _, s := range c.services {
		if len(s.members) > 0 {
			return false
		}
	}
	return true
}

// call runs f on the owner goroutine and waits for it.
func (c *Controller) call(ctx context.Context, f func()) error {
	done := make(chan struct{})
	select {
	case c.requests <- func() { f(); close(done) }:
	case <-ctx.Done():
		return ctx.Err()
	}
	<-done
	return nil
}

// Scale sets desired counts as stored, all or nothing: a count that is
// wrong, or a service the fleet lacks, changes none of them.
func (c *Controller) Scale(ctx context.Context, counts map[string]int) error {
	var err error
	if cerr := c.call(ctx, func() { err = c.scale(counts) }); cerr != nil {
		return cerr
	}
	return err
}

// scale is Scale on the owner goroutine.
func (c *Controller) scale(counts map[string]int) error {
	if c.down {
		return errors.New("scale: the fleet is going down")
	}
	for _, svc := range slices.Sorted(maps.Keys(counts)) {
		if s := c.services[svc]; s == nil || s.removed {
			return fmt.Errorf("scale: fleet %s has no service %q; nothing was changed", c.opts.Stack.Fleet.Name, svc)
		}
		if err := checkBounds(c.services[svc], counts[svc]); err != nil {
			return err
		}
	}
	for _, svc := range slices.Sorted(maps.Keys(counts)) {
		s := c.services[svc]
		if s.desired != counts[svc] {
			c.emit(svc, "", "scaled", "desired %d -> %d", s.desired, counts[svc])
		}
		s.desired, s.scaling = counts[svc], false
	}
	return nil
}

// Down drains and removes every instance, dependents first, and returns
// once they are gone.
func (c *Controller) Down(ctx context.Context, grace time.Duration) error {
	if err := c.call(ctx, func() {
		if !c.down {
			c.emit("", "", "down", "draining every instance")
		}
		c.down, c.stopGrace = true, grace
	}); err != nil {
		return err
	}
	select {
	case <-c.downDone:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
