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
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/balancer"
	"github.com/vmfleet/vmfleet/pkg/fleetfile"
	"github.com/vmfleet/vmfleet/pkg/health"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/image"
	"github.com/vmfleet/vmfleet/pkg/instance"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

const (
	// GuestHostAddr is the host's loopback as a guest on QEMU's user-mode
	// network sees it; discovery addresses point there.
	GuestHostAddr = "10.0.2.2"
	resyncEvery   = 5 * time.Second
	// drainOnStop bounds how long a stopping controller lets connections
	// in flight finish.
	drainOnStop = 10 * time.Second
)

// Options wire a controller.
type Options struct {
	Fleet *fleetfile.Fleet
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
	// Listeners makes the balancers' listening sockets (the daemon's
	// supervisor keeps them open across restarts); nil listens directly.
	Listeners Listeners
	// Listen overrides balancer addresses per service (re-adoption keeps
	// the ports dependents were told).
	Listen map[string]string
	// Desired overrides the fleet file's instance counts (see
	// State.DesiredFor).
	Desired map[string]int
	// OnChange is told the controller's state after a scale or a reload,
	// from the controller's goroutine, so it survives a restart.
	OnChange func(State)
	// Observe is told of every event, from the controller's goroutine.
	Observe func(Event)
}

// Listeners hands out listening sockets and takes back those no longer
// wanted.
type Listeners interface {
	Listen(ctx context.Context, addr string) (net.Listener, error)
	Release(addr string)
}

// Event is something the controller did or saw.
type Event = api.Event

// service is one service's runtime state.
type service struct {
	spec      *fleetfile.Service
	image     *image.Manifest
	desired   int
	bal       *balancer.Balancer
	listen    string // the balancer's actual address
	env       []string
	members   map[string]*member
	insts     map[string]*instance.Instance
	removed   bool // gone from the fleet file: scaled to zero, then dropped
	failures  int
	notBefore time.Time    // launch backoff after failures
	ln        net.Listener // bound, not yet served (see bind)
	// launchError stops launches after an error retrying cannot cure,
	// until a reload changes the service.
	launchError string
}

// template identifies what a service's instances are launched from: its
// launch template. A change to any part (image, cpu, memory) rolls the
// service, launch before terminate.
func (s *service) template() string {
	return fmt.Sprintf("%s/cpu=%g/mem=%d", s.image.Digest, s.spec.CPU, s.spec.MemoryBytes)
}

// Controller reconciles one fleet.
type Controller struct {
	opts     Options
	log      *slog.Logger
	services map[string]*service
	order    []string // start order: dependencies first

	// Channels into the owner goroutine, which alone touches the state.
	health   chan health.Transition
	results  chan func()
	requests chan func()

	mu        sync.Mutex // guards status, the snapshot readers get
	status    api.Fleet
	down      bool
	downDone  chan struct{}
	wg        sync.WaitGroup
	seq       int
	resyncing bool
	running   bool            // Run has adopted and serves the balancers
	ctx       context.Context // the balancers' lifetime, set by Listen
	// fileCounts are the fleet file's instance counts as last loaded; a
	// count changed by Scale stands until the file's own count changes.
	fileCounts map[string]int
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
	c := &Controller{
		opts: opts, log: opts.Log, services: map[string]*service{},
		health: make(chan health.Transition, 64), results: make(chan func(), 64), requests: make(chan func()),
		downDone: make(chan struct{}),
	}
	for _, s := range opts.Fleet.StartOrder() {
		c.order = append(c.order, s.Name)
		desired := s.Instances
		if n, ok := opts.Desired[s.Name]; ok {
			desired = n
		}
		c.services[s.Name] = &service{spec: s, image: opts.Images[s.Name], desired: desired, members: map[string]*member{}, insts: map[string]*instance.Instance{}}
	}
	c.fileCounts = fileCounts(opts.Fleet)
	c.publish() // readers never see an empty fleet as a ready one
	return c
}

func (c *Controller) emit(svc, inst, kind, format string, args ...any) {
	ev := Event{Time: time.Now(), Fleet: c.opts.Fleet.Name, Service: svc, Instance: inst, Kind: kind, Message: fmt.Sprintf(format, args...)}
	c.log.Info(ev.Message, "kind", kind, "service", svc, "instance", inst)
	if c.opts.Observe != nil {
		c.opts.Observe(ev)
	}
}

// Listen starts every service's balancer. A fixed address in use fails
// here, before any instance is launched; nothing is left listening.
func (c *Controller) Listen(ctx context.Context) (err error) {
	c.ctx = ctx
	defer func() {
		if err != nil {
			for _, s := range c.services {
				if s.bal != nil {
					c.release(s)
				}
			}
		}
	}()
	for _, name := range c.order {
		if err := c.listen(c.services[name]); err != nil {
			return err
		}
	}
	c.discovery()
	c.publish()
	return nil
}

// listen starts one service's balancer on its address (or, for a free
// port, the one an earlier controller chose, which dependents were told).
func (c *Controller) listen(s *service) error {
	name := s.spec.Name
	b, err := balancer.New(balancer.Options{
		Check:               checkOf(s.spec.Health),
		DeregistrationDelay: nonZeroDelay(s.spec.Balancer.DeregistrationDelay),
		NoReplay:            !s.spec.Balancer.Replay,
		OnTransition: func(tr health.Transition) {
			select {
			case c.health <- tr:
			case <-c.ctx.Done():
			}
		},
		Logger: c.log.With("service", name),
	})
	if err != nil {
		return fmt.Errorf("service %s balancer: %w", name, err)
	}
	addr := s.spec.Balancer.Listen
	if a, ok := c.opts.Listen[name]; ok && strings.HasSuffix(addr, ":0") {
		addr = a
	}
	ln, err := c.bind(addr)
	if err != nil {
		b.Close()
		return fmt.Errorf("service %s balancer: %w; change balancer.listen in %s or stop what uses it", name, err, c.opts.Fleet.File)
	}
	s.bal, s.ln, s.listen = b, ln, ln.Addr().String()
	if c.running {
		c.serve(s)
	}
	c.emit(name, "", "listening", "balancer on %s", s.listen)
	return nil
}

// bind gets the balancer's listening socket. It is served only from Run,
// once the running instances are adopted: until then new connections
// wait in the kernel's backlog rather than meet a balancer with no
// targets (after a daemon restart the socket is the old one).
func (c *Controller) bind(addr string) (net.Listener, error) {
	addr, err := balancer.ListenAddr(addr)
	if err != nil {
		return nil, err
	}
	if c.opts.Listeners == nil {
		var lc net.ListenConfig
		return lc.Listen(c.ctx, "tcp", addr)
	}
	return c.opts.Listeners.Listen(c.ctx, addr)
}

// serve starts a bound balancer serving; from Run, or for a service a
// reload adds while Run runs.
func (c *Controller) serve(s *service) {
	if s.ln == nil {
		return
	}
	// Not c.ctx: when the controller stops, Run shuts the balancers down
	// gracefully rather than cut the connections in flight.
	if _, err := s.bal.Start(context.WithoutCancel(c.ctx), s.ln); err != nil {
		c.emit(s.spec.Name, "", "error", "serve balancer: %v", err)
	}
	s.ln = nil
}

// release closes a balancer for good: its port is not wanted again.
func (c *Controller) release(s *service) {
	s.bal.Close()
	if s.ln != nil {
		s.ln.Close()
	}
	if c.opts.Listeners != nil && s.listen != "" {
		c.opts.Listeners.Release(s.listen)
	}
}

func checkOf(h fleetfile.Health) health.Check {
	return health.Check{
		Type: health.Type(h.Type), Path: h.Path, Interval: h.Interval, Timeout: h.Timeout,
		HealthyThreshold: h.HealthyThreshold, UnhealthyThreshold: h.UnhealthyThreshold,
	}
}

// discovery gives each service its dependencies' balancer addresses, as
// the guest reaches them through the user-mode network's gateway.
func (c *Controller) discovery() {
	for _, s := range c.services {
		s.env = nil
		for _, dep := range s.spec.DependsOn {
			if d := c.services[dep]; d != nil {
				_, port, _ := net.SplitHostPort(d.listen)
				s.env = append(s.env, envName(dep)+"_ADDR="+net.JoinHostPort(GuestHostAddr, port))
			}
		}
	}
}

// nonZeroDelay keeps a configured zero meaning zero (the balancer reads 0
// as its default).
func nonZeroDelay(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

func envName(service string) string {
	return strings.ToUpper(strings.ReplaceAll(service, "-", "_"))
}

// Addresses returns every balancer's listen address by service.
func (c *Controller) Addresses() map[string]string {
	out := map[string]string{}
	for n, s := range c.services {
		out[n] = s.listen
	}
	return out
}

// shutdownBalancers stops accepting and lets the connections in flight
// finish, within drainOnStop: a restarted daemon's balancers take over the
// same sockets, so this is what makes an upgrade lose no request.
func (c *Controller) shutdownBalancers() {
	ctx, cancel := context.WithTimeout(context.Background(), drainOnStop)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range c.services {
		if s.bal != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.bal.Shutdown(ctx)
			}()
		}
	}
	wg.Wait()
	for _, s := range c.services {
		if s.ln != nil {
			s.ln.Close()
		}
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
	tick := time.NewTicker(250 * time.Millisecond)
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
		case <-resync.C:
			c.resync(ctx)
		case <-tick.C:
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

// adopt takes over the fleet's instances libvirt already has.
func (c *Controller) adopt(ctx context.Context) error {
	list, err := c.opts.Instances.List(ctx)
	if err != nil {
		return err
	}
	for _, inst := range list {
		if inst.Fleet != c.opts.Fleet.Name || !c.opts.Instances.Owns(inst) {
			continue // another fleet's, or another home's
		}
		s := c.services[inst.Service]
		if s == nil || inst.State != hypervisor.Running {
			// A service no longer in the file, or an instance that stopped
			// while no controller watched: clean it up (aside: its result
			// goes to the loop, which has not started yet).
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				c.terminate(ctx, s, inst, 0, "adopt: not running or not in the fleet file")
			}()
			continue
		}
		tmpl := inst.Template
		if tmpl == "" && inst.ImageDigest == s.image.Digest {
			tmpl = s.template() // made before templates were recorded
		}
		m := &member{key: inst.ID, digest: tmpl, phase: inService, launched: inst.Created}
		s.members[inst.ID] = m
		s.insts[inst.ID] = inst
		// It was in service when the last controller left; the check
		// takes it out if that changed.
		if err := s.bal.RegisterHealthy(inst.Address); err != nil {
			return err
		}
		c.emit(inst.Service, inst.ID, "adopted", "running at %s", inst.Address)
	}
	return nil
}

func (c *Controller) reconcile(ctx context.Context) {
	now := time.Now()
	starting := 0.0 // CPU caps of instances launching or booting
	for _, s := range c.services {
		for _, m := range s.members {
			if m.phase == launching || m.phase == booting {
				starting += s.spec.CPU
			}
		}
	}
	for _, name := range append([]string(nil), c.order...) {
		s := c.services[name]
		if s.removed && len(s.members) == 0 {
			// A service gone from the file: its instances are gone too.
			c.release(s)
			delete(c.services, name)
			c.order = slices.DeleteFunc(c.order, func(n string) bool { return n == name })
			c.emit(name, "", "removed", "service no longer in the fleet file; balancer closed")
			continue
		}
		desired := s.desired
		if s.removed {
			desired = 0
		}
		if c.down && !c.dependentsGone(name) {
			desired = len(s.members) // hold until what depends on it is gone
		} else if c.down {
			desired = 0
		}
		ms := make([]*member, 0, len(s.members))
		for _, m := range s.members {
			ms = append(ms, m)
		}
		if c.down && desired != 0 {
			continue
		}
		p := planService(view{desired: desired, digest: s.template(), members: ms, now: now, grace: c.opts.HealthCheckGracePeriod})
		for _, m := range p.replace {
			c.emit(name, m.key, "replacing", "not healthy within the %s grace period", c.opts.HealthCheckGracePeriod)
			c.retire(ctx, s, m, 0)
		}
		for _, m := range p.retire {
			c.retire(ctx, s, m, 10*time.Second)
		}
		for i := 0; i < p.launch && !now.Before(s.notBefore) && s.launchError == ""; i++ {
			if starting > 0 && starting+s.spec.CPU > c.opts.BootCPUs {
				break
			}
			c.launch(ctx, s)
			starting += s.spec.CPU
		}
	}
	c.publish()
}

// dependentsGone reports whether every service depending on name has no
// instances left, so `down` stops dependents before their dependencies.
func (c *Controller) dependentsGone(name string) bool {
	for _, s := range c.services {
		for _, d := range s.spec.DependsOn {
			if d == name && len(s.members) > 0 {
				return false
			}
		}
	}
	return true
}

func (c *Controller) launch(ctx context.Context, s *service) {
	c.seq++
	key := "launch-" + strconv.Itoa(c.seq)
	m := &member{key: key, digest: s.template(), phase: launching, launched: time.Now()}
	s.members[key] = m
	name := s.spec.Name
	opts := instance.Options{
		Image: s.image, Service: name, Fleet: c.opts.Fleet.Name, CPU: s.spec.CPU,
		MemoryBytes: s.spec.MemoryBytes, Env: s.env, Template: s.template(),
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		inst, err := c.opts.Instances.Launch(ctx, opts)
		c.deliver(ctx, func() {
			delete(s.members, key)
			if err != nil {
				if instance.Permanent(err) {
					// Retrying cannot cure it: say so, and wait for a
					// changed service.
					s.launchError = err.Error()
					c.emit(name, "", "error", "launch failed, not retrying: %v", err)
					return
				}
				s.failures++
				backoff := time.Duration(1<<min(s.failures, 5)) * time.Second
				s.notBefore = time.Now().Add(backoff)
				c.emit(name, "", "error", "launch failed (retrying in %s): %v", backoff, err)
				return
			}
			s.failures, s.launchError = 0, ""
			m.key, m.phase, m.launched = inst.ID, booting, time.Now()
			s.members[inst.ID] = m
			s.insts[inst.ID] = inst
			if err := s.bal.Register(inst.Address); err != nil {
				c.emit(name, inst.ID, "error", "register with balancer: %v", err)
			}
			c.emit(name, inst.ID, "launched", "%s, forwarded from %s", inst.Domain, inst.Address)
		})
	}()
}

// deliver hands a result to the owner goroutine.
func (c *Controller) deliver(ctx context.Context, f func()) {
	select {
	case c.results <- f:
	case <-ctx.Done():
	}
}

// retire takes a member out of rotation, drains it for the service's
// deregistration delay, and terminates it, giving the guest grace to stop.
func (c *Controller) retire(ctx context.Context, s *service, m *member, grace time.Duration) {
	if m.phase == leaving {
		return
	}
	m.phase = leaving
	inst := s.insts[m.key]
	if inst == nil {
		return
	}
	c.emit(s.spec.Name, m.key, "draining", "deregistered from the balancer")
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := s.bal.Deregister(ctx, inst.Address); err != nil && !errors.Is(err, balancer.ErrUnknownTarget) {
			c.log.Warn("deregister", "instance", inst.ID, "err", err)
		}
		c.terminate(ctx, s, inst, grace, "")
	}()
}

// terminate removes an instance and reports back to the owner goroutine.
func (c *Controller) terminate(ctx context.Context, s *service, inst *instance.Instance, grace time.Duration, why string) {
	err := c.opts.Instances.Terminate(context.WithoutCancel(ctx), inst, grace)
	name := inst.Service
	c.deliver(ctx, func() {
		if s != nil {
			delete(s.members, inst.ID)
			delete(s.insts, inst.ID)
		}
		if err != nil {
			c.emit(name, inst.ID, "error", "terminate: %v", err)
			return
		}
		msg := "domain, disk and log removed"
		if why != "" {
			msg = why + "; " + msg
		}
		c.emit(name, inst.ID, "terminated", "%s", msg)
	})
}

// find locates a member by its domain or balancer address.
func (c *Controller) find(match func(*instance.Instance) bool) (*service, *member) {
	for _, s := range c.services {
		for id, inst := range s.insts {
			if match(inst) {
				return s, s.members[id]
			}
		}
	}
	return nil, nil
}

// onLifecycle replaces an instance that stopped or crashed on its own:
// out of rotation at once, no drain (its connections died with it).
func (c *Controller) onLifecycle(ctx context.Context, ev hypervisor.Event) {
	if ev.Kind != hypervisor.EventStopped && ev.Kind != hypervisor.EventCrashed {
		return
	}
	s, m := c.find(func(i *instance.Instance) bool { return i.Domain == ev.Domain })
	if m == nil || m.phase == leaving {
		return
	}
	c.emit(s.spec.Name, m.key, "stopped", "domain %s %s; replacing", ev.Domain, ev.Kind)
	c.retire(ctx, s, m, 0)
}

// onHealth acts on the balancer's health checks: a booting instance that
// turns healthy is in service; one in service that turns unhealthy is
// replaced, like an ELB health check on an Auto Scaling group.
func (c *Controller) onHealth(ctx context.Context, tr health.Transition) {
	s, m := c.find(func(i *instance.Instance) bool { return i.Address == tr.Target })
	if m == nil {
		return
	}
	switch {
	case tr.To == health.Healthy && m.phase == booting:
		m.phase = inService
		c.emit(s.spec.Name, m.key, "healthy", "in service after %s", time.Since(m.launched).Round(100*time.Millisecond))
	case tr.To == health.Unhealthy && m.phase == inService:
		c.emit(s.spec.Name, m.key, "unhealthy", "%s; replacing", tr.Reason)
		c.retire(ctx, s, m, 0)
	}
}

// resync catches what events missed: a domain gone or stopped. Listing
// can block while libvirt tears a dying domain down, so it runs aside and
// hands its result to the owner goroutine.
func (c *Controller) resync(ctx context.Context) {
	if c.resyncing {
		return
	}
	c.resyncing = true
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		list, err := c.opts.Instances.List(ctx)
		c.deliver(ctx, func() {
			c.resyncing = false
			if err != nil {
				c.log.Warn("resync", "err", err)
				return
			}
			running := map[string]bool{}
			for _, i := range list {
				running[i.ID] = i.State == hypervisor.Running
			}
			for _, s := range c.services {
				for id, m := range s.members {
					if (m.phase == booting || m.phase == inService) && !running[id] {
						c.emit(s.spec.Name, id, "stopped", "no longer running; replacing")
						c.retire(ctx, s, m, 0)
					}
				}
			}
		})
	}()
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

// Scale sets desired counts, all or nothing: a count that is wrong, or a
// service the fleet lacks, changes none of them.
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
			return fmt.Errorf("scale: fleet %s has no service %q; nothing was changed", c.opts.Fleet.Name, svc)
		}
		if counts[svc] < 0 {
			return fmt.Errorf("scale %s=%d: the count cannot be negative; nothing was changed", svc, counts[svc])
		}
	}
	for _, svc := range slices.Sorted(maps.Keys(counts)) {
		s := c.services[svc]
		c.emit(svc, "", "scaled", "desired %d -> %d", s.desired, counts[svc])
		s.desired = counts[svc]
	}
	c.changed()
	return nil
}

// Down drains and removes every instance, dependents first, and returns
// once they are gone.
func (c *Controller) Down(ctx context.Context) error {
	if err := c.call(ctx, func() {
		if !c.down {
			c.emit("", "", "down", "draining every instance")
		}
		c.down = true
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
