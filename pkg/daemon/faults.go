package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/instance"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

// Fault injection, as AWS Fault Injection Service runs it: one fault on
// one instance, recorded in the activity history with a cause that says
// it was injected, bounded in time and undone when it ends or when the
// daemon stops. What the fleet does about it (a replacement) is the
// controller's, as for a real fault.

// InjectFault injects req's fault into instance ref.
func (d *Daemon) InjectFault(ctx context.Context, ref string, req api.FaultRequest) (api.Fault, error) {
	var span time.Duration
	switch req.Action {
	case api.FaultKill:
		if req.Seconds != 0 {
			return api.Fault{}, api.Invalid(errors.New("fault kill: a kill is not undone, so it takes no duration"))
		}
	case api.FaultPause:
		span = time.Duration(req.Seconds) * time.Second
		if span == 0 {
			span = limits.DefaultFaultDuration
		}
		if span < 0 || span > limits.MaxFaultDuration {
			return api.Fault{}, api.Invalid(fmt.Errorf("fault pause: %d s is not from 1 to %d s", req.Seconds, int(limits.MaxFaultDuration/time.Second)))
		}
	default:
		return api.Fault{}, api.Invalid(fmt.Errorf("fault %q: give %s or %s", req.Action, api.FaultKill, api.FaultPause))
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
	injected := func(msg string) {
		d.emit(api.Event{Fleet: inst.Fleet, Service: inst.Service, Instance: inst.ID, Kind: "fault", Message: "injected: " + msg})
	}
	if req.Action == api.FaultKill {
		if err := d.hv.KillQEMU(ctx, inst.Domain); err != nil {
			return api.Fault{}, api.Failed(err)
		}
		injected("its QEMU killed (kill -9), as a crash")
		return f, nil
	}
	if err := d.hv.Pause(ctx, inst.Domain); err != nil {
		return api.Fault{}, api.Failed(err)
	}
	until := time.Now().Add(span)
	f.Until = &until
	injected(fmt.Sprintf("paused for %s (a hang), until %s", span, until.Format(time.TimeOnly)))
	d.undoLater(inst, span)
	return f, nil
}

// undoLater resumes a paused instance once span has passed, or at once
// when the daemon stops; Run waits for it.
func (d *Daemon) undoLater(inst *instance.Instance, span time.Duration) {
	d.mu.Lock()
	stop, late := d.ctx.Done(), d.faultsDone
	if !late {
		d.faults.Add(1)
	}
	d.mu.Unlock()
	if late {
		d.undo(inst) // the daemon is stopping: now
		return
	}
	go func() {
		defer d.faults.Done()
		t := time.NewTimer(span)
		defer t.Stop()
		select {
		case <-t.C:
		case <-stop:
		}
		d.undo(inst)
	}()
}

// undo resumes a paused instance.
func (d *Daemon) undo(inst *instance.Instance) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.hv.Resume(ctx, inst.Domain); err != nil {
		// Replaced while it hung, most likely: nothing to undo.
		d.log.Debug("end a pause fault", "instance", inst.ID, "err", err)
		return
	}
	d.emit(api.Event{Fleet: inst.Fleet, Service: inst.Service, Instance: inst.ID, Kind: "fault", Message: "fault ended: resumed"})
}
