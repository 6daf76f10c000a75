package daemon

import (
	"context"
	"errors"
	"sync"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/controller"
	"github.com/vmfleet/vmfleet/pkg/stack"
)

// fleetRun is one fleet in the daemon: its record and its controller.
// op serialises what changes the fleet (apply, scale, down): two `up`s of
// one file end with one set of instances, and a `down` waits for nothing
// but cancels an apply in progress (a bake) and then runs. It is a
// channel so that a wait for it ends with its context: a policy's scale
// waits on the controller's, which a restart cancels.
type fleetRun struct {
	name string
	op   chan struct{}
	// downing is closed once a down begins: what waits for op gives up
	// then (a policy's scale, which the down's controller waits for).
	downing chan struct{}

	mu        sync.Mutex   // guards the fields below; never held across I/O
	rec       *stack.Stack // as last saved; replaced, never changed in place
	ctrl      *controller.Controller
	stop      context.CancelFunc // ends the controller's Run
	done      chan struct{}      // closed when Run has returned
	runErr    error
	cancelOp  context.CancelFunc // the apply in progress
	goingDown bool
}

// controller is the fleet's running controller, or nil.
func (r *fleetRun) controller() *controller.Controller {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ctrl
}

func (r *fleetRun) status() (api.Fleet, bool) {
	ctrl := r.controller()
	if ctrl == nil {
		return api.Fleet{}, false
	}
	return ctrl.Status(), true
}

// stopController ends the controller's Run, leaving instances running.
func (r *fleetRun) stopController() {
	r.mu.Lock()
	stop, done := r.stop, r.done
	r.ctrl, r.stop, r.done = nil, nil, nil
	r.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// beginOp takes the fleet for one change; down first cancels the apply
// that holds it.
func (r *fleetRun) beginOp(ctx context.Context, down bool) (context.Context, func(), error) {
	refused := api.Conflict(errors.New("the fleet " + r.name + " is being taken down; run up again once it is down"))
	downing := r.downing
	if down {
		r.mu.Lock()
		if !r.goingDown {
			close(r.downing)
		}
		r.goingDown = true
		if r.cancelOp != nil {
			r.cancelOp()
		}
		r.mu.Unlock()
		downing = nil
	}
	select {
	case r.op <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case <-downing:
		return nil, nil, refused
	}
	r.mu.Lock()
	if !down && r.goingDown {
		r.mu.Unlock()
		<-r.op
		return nil, nil, refused
	}
	opCtx, cancel := context.WithCancel(ctx)
	if !down {
		r.cancelOp = cancel
	}
	r.mu.Unlock()
	return opCtx, func() {
		r.mu.Lock()
		r.cancelOp = nil
		r.mu.Unlock()
		cancel()
		<-r.op
	}, nil
}

// fleet returns the named fleet's run, making one if asked.
func (d *Daemon) fleet(name string, create bool) *fleetRun {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.fleets[name]
	if r == nil && create {
		r = &fleetRun{name: name, op: make(chan struct{}, 1), downing: make(chan struct{})}
		d.fleets[name] = r
	}
	return r
}

func (d *Daemon) forget(r *fleetRun) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fleets[r.name] == r {
		delete(d.fleets, r.name)
	}
}

// runs is every fleet, at this moment.
func (d *Daemon) runs() []*fleetRun {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*fleetRun, 0, len(d.fleets))
	for _, r := range d.fleets {
		out = append(out, r)
	}
	return out
}
