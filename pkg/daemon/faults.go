package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/health"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/instance"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

// Fault injection, as AWS Fault Injection Service runs it: one fault on
// one instance (or on the host), recorded in the activity history with a
// cause that says it was injected, bounded in time and undone when it
// ends, when its instance is gone, or when the daemon stops. What the
// fleet does about it (a replacement) is the controller's, as for a real
// fault. Each fault's own injection and undo are in faultkinds.go.

// instanceFaults and hostFaults are the actions of each route.
var (
	instanceFaults = []string{api.FaultKill, api.FaultPause, api.FaultCPU, api.FaultUnhealthy, api.FaultNetwork}
	hostFaults     = []string{api.FaultLibvirtd}
)

// injection is a fault put in place: what the activity history says of
// it, and how it is undone (end says what it did, for "fault ended: ").
type injection struct {
	what string
	end  func(ctx context.Context) (string, error)
}

// faultSet is the faults in force; Run undoes them as it returns.
type faultSet struct {
	// checks fails the health checks of the targets an unhealthy fault
	// was injected into: every checker the daemon starts runs through it.
	checks health.Faults

	mu       sync.Mutex
	inForce  map[string]time.Time // until when, by instance/action or host/action
	pending  sync.WaitGroup       // the undos to come
	stopping chan struct{}        // closed by stop
	stopped  bool
}

// reserve marks key in force until until, or says it is already: two of
// one fault at once would have the first's end undo the second.
func (s *faultSet) reserve(key string, until time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.inForce[key]; ok {
		target, action, _ := strings.Cut(key, "/")
		return api.Conflict(fmt.Errorf("fault %s on %s is in force already, until %s; wait for it to end", action, target, u.Format(time.TimeOnly)))
	}
	if s.inForce == nil {
		s.inForce = map[string]time.Time{}
	}
	s.inForce[key] = until
	return nil
}

func (s *faultSet) release(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inForce, key)
}

// stopChan is closed when the daemon stops; s.mu held.
func (s *faultSet) stopChan() chan struct{} {
	if s.stopping == nil {
		s.stopping = make(chan struct{})
	}
	return s.stopping
}

// stop undoes every fault in force and returns once it has.
func (s *faultSet) stop() {
	s.mu.Lock()
	if !s.stopped {
		s.stopped = true
		close(s.stopChan())
	}
	s.mu.Unlock()
	s.pending.Wait()
}

// faultSpan is how long req's fault lasts; a kill is not undone and
// takes none.
func faultSpan(req api.FaultRequest) (time.Duration, error) {
	switch {
	case req.Action == api.FaultKill:
		if req.Seconds != 0 {
			return 0, api.Invalid(errors.New("fault kill: a kill is not undone, so it takes no duration"))
		}
		return 0, nil
	case !slices.Contains(instanceFaults, req.Action) && !slices.Contains(hostFaults, req.Action):
		return 0, api.Invalid(fmt.Errorf("fault %q: give one of %s", req.Action, strings.Join(append(slices.Clone(instanceFaults), hostFaults...), ", ")))
	}
	span := time.Duration(req.Seconds) * time.Second
	if span == 0 {
		span = limits.DefaultFaultDuration
	}
	if span < 0 || span > limits.MaxFaultDuration {
		return 0, api.Invalid(fmt.Errorf("fault %s: %d s is not from 1 to %d s", req.Action, req.Seconds, int(limits.MaxFaultDuration/time.Second)))
	}
	return span, nil
}

// InjectFault injects req's fault into instance ref.
func (d *Daemon) InjectFault(ctx context.Context, ref string, req api.FaultRequest) (api.Fault, error) {
	if slices.Contains(hostFaults, req.Action) {
		return api.Fault{}, api.Invalid(fmt.Errorf("fault %s is the host's, not an instance's: POST /v1/faults (vmfleet fault %s)", req.Action, req.Action))
	}
	span, err := faultSpan(req)
	if err != nil {
		return api.Fault{}, err
	}
	inst, err := d.instances.Get(ctx, ref)
	if errors.Is(err, instance.ErrNoInstance) || err == nil && !d.owns(inst) {
		return api.Fault{}, api.NotFound(fmt.Errorf("no instance %s; see vmfleet ps", ref))
	} else if err != nil {
		return api.Fault{}, api.Failed(err)
	}
	if inst.State != hypervisor.Running {
		return api.Fault{}, api.Invalid(fmt.Errorf("fault %s: instance %s is %s, not running", req.Action, inst.ID, inst.State))
	}
	f := api.Fault{Instance: inst.ID, Action: req.Action}
	ev := api.Event{Fleet: inst.Fleet, Service: inst.Service, Instance: inst.ID, Kind: "fault"}
	if req.Action == api.FaultKill {
		if err := d.hv.KillQEMU(ctx, inst.Domain); err != nil {
			return api.Fault{}, api.Failed(err)
		}
		ev.Message = "injected: its QEMU killed (kill -9), as a crash"
		d.emit(ev)
		return f, nil
	}
	key := inst.ID + "/" + req.Action
	if err := d.faults.reserve(key, time.Now().Add(span)); err != nil {
		return api.Fault{}, err
	}
	var in injection
	switch req.Action {
	case api.FaultPause:
		in, err = d.pause(ctx, inst, span)
	case api.FaultCPU:
		in, err = d.burnCPU(ctx, inst, span)
	case api.FaultUnhealthy:
		in, err = d.failChecks(inst, span)
	case api.FaultNetwork:
		in, err = d.cutNetwork(ctx, inst, span)
	}
	if err != nil {
		d.faults.release(key)
		return api.Fault{}, err
	}
	until := d.hold(key, ev, in, span, d.goneCheck(inst))
	f.Until = &until
	return f, nil
}

// InjectHostFault injects req's fault into the host.
func (d *Daemon) InjectHostFault(ctx context.Context, req api.FaultRequest) (api.Fault, error) {
	if slices.Contains(instanceFaults, req.Action) {
		return api.Fault{}, api.Invalid(fmt.Errorf("fault %s is an instance's: POST /v1/instances/{ref}/faults (vmfleet fault %s INSTANCE)", req.Action, req.Action))
	}
	span, err := faultSpan(req)
	if err != nil {
		return api.Fault{}, err
	}
	key := "host/" + req.Action
	if err := d.faults.reserve(key, time.Now().Add(span)); err != nil {
		return api.Fault{}, err
	}
	in, err := d.stopLibvirtd(span)
	if err != nil {
		d.faults.release(key)
		return api.Fault{}, err
	}
	until := d.hold(key, api.Event{Kind: "fault"}, in, span, nil)
	return api.Fault{Action: req.Action, Until: &until}, nil
}

// goneEvery is how often a fault on an instance looks for it: once it is
// replaced there is nothing to undo, and a health check failed by its
// address must not outlive it (a new instance may get its port).
const goneEvery = 2 * time.Second

// goneCheck says whether inst has stopped or gone, from the inventory's
// listing (no call to libvirtd).
func (d *Daemon) goneCheck(inst *instance.Instance) func() bool {
	return func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		list, err := d.instances.Known(ctx)
		if err != nil {
			return false
		}
		for _, i := range list {
			if i.ID == inst.ID {
				return i.State == hypervisor.Shutoff || i.State == hypervisor.Crashed
			}
		}
		return true
	}
}

// hold records a fault injected and undoes it once span has passed (from
// now: reaching a guest may have taken a while), when gone (nil for the
// host's) says its instance is gone, or at once when the daemon stops;
// Run waits for the undo. It returns when the fault ends.
func (d *Daemon) hold(key string, ev api.Event, in injection, span time.Duration, gone func() bool) time.Time {
	until := time.Now().Add(span)
	ev.Message = "injected: " + in.what + ", until " + until.Format(time.TimeOnly)
	d.emit(ev)
	d.log.Info("fault injected", "fault", key, "until", until)
	s := &d.faults
	s.mu.Lock()
	s.inForce[key] = until
	late, stop := s.stopped, s.stopChan()
	if !late {
		s.pending.Add(1)
	}
	s.mu.Unlock()
	if late {
		d.endFault(key, ev, in, whyStopping)
		return until
	}
	go func() {
		defer s.pending.Done()
		t := time.NewTimer(span)
		defer t.Stop()
		var poll <-chan time.Time
		if gone != nil {
			tick := time.NewTicker(goneEvery)
			defer tick.Stop()
			poll = tick.C
		}
		for {
			select {
			case <-t.C:
				d.endFault(key, ev, in, "")
				return
			case <-stop:
				d.endFault(key, ev, in, whyStopping)
				return
			case <-poll:
				if gone() {
					d.endFault(key, ev, in, whyGone)
					return
				}
			}
		}
	}()
	return until
}

// Why a fault ends before its time.
const (
	whyGone     = "its instance is gone"
	whyStopping = "the daemon is stopping"
)

const (
	// undoCallWait bounds one try at undoing a fault.
	undoCallWait = 10 * time.Second
	// undoRetry is the pause between tries while libvirtd does not
	// answer (another fault may have stopped it).
	undoRetry = time.Second
	// undoStopWait is how long a stopping daemon keeps trying.
	undoStopWait = 15 * time.Second
)

// endFault undoes a fault and records that it ended. While libvirtd does
// not answer it tries again, until it does or, once the daemon is
// stopping, for undoStopWait: a link left down has no other way back.
func (d *Daemon) endFault(key string, ev api.Event, in injection, why string) {
	defer d.faults.release(key)
	d.faults.mu.Lock()
	stop := d.faults.stopChan()
	d.faults.mu.Unlock()
	var deadline time.Time // none until the daemon stops
	var msg string
	var err error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), undoCallWait)
		msg, err = in.end(ctx)
		cancel()
		if err == nil || why == whyGone || !hypervisor.Unreachable(err) {
			break
		}
		d.log.Debug("undo a fault: libvirtd does not answer; trying again", "fault", key, "err", err)
		select {
		case <-stop:
			stop = nil // closed: the daemon is stopping
		case <-time.After(undoRetry):
		}
		if stop == nil {
			if deadline.IsZero() {
				deadline = time.Now().Add(undoStopWait)
			}
			if time.Now().After(deadline) {
				break
			}
		}
	}
	ev.Time = time.Time{}
	switch {
	case why == whyGone:
		ev.Message = "fault ended: its instance is gone"
	case err != nil:
		d.log.Warn("undo a fault", "fault", key, "err", err)
		ev.Message = "fault ended: could not undo it: " + err.Error()
	case why != "":
		ev.Message = "fault ended: " + msg + " (" + why + ")"
	default:
		ev.Message = "fault ended: " + msg
	}
	d.emit(ev)
	d.log.Info("fault ended", "fault", key, "why", why, "err", err)
}
