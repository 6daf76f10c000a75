package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/controller"
	"github.com/vmfleet/vmfleet/pkg/image"
	"github.com/vmfleet/vmfleet/pkg/stack"
)

// start makes st's controller, binds its balancers and runs it; it
// adopts what libvirt already runs for the fleet. The stack is saved once
// the balancers listen (their bound addresses are part of it).
func (d *Daemon) start(st *stack.Stack, images map[string]*image.Manifest) error {
	name := st.Fleet.Name
	run := d.fleet(name, true)
	d.mu.Lock()
	dctx := d.ctx
	d.mu.Unlock()
	ctx, stop := context.WithCancel(dctx)
	links := d.links
	if d.cfg.ProbeForwards {
		links = nil
	}
	ctrl := controller.New(controller.Options{
		Stack: st, Images: images, Instances: d.instances, Log: d.log.With("fleet", name),
		BootCPUs: st.Fleet.BootCPUs, Listeners: d.cfg.Listeners,
		SetDesired: func(ctx context.Context, svc string, n int) error {
			_, err := d.Scale(ctx, name, map[string]int{svc: n})
			return err
		},
		Observe:      d.emit,
		Links:        links,
		HealthFaults: &d.faults.checks,
		HealthFloors: d.cfg.HealthFloors,
	})
	if err := ctrl.Listen(ctx); err != nil {
		stop()
		return api.Invalid(err)
	}
	bound(st, ctrl.Addresses())
	if err := d.state.save(dctx, st); err != nil {
		stop()
		return api.Failed(err)
	}
	done := make(chan struct{})
	run.mu.Lock()
	run.rec, run.ctrl, run.stop, run.done, run.runErr = st, ctrl, stop, done, nil
	run.mu.Unlock()
	go func() {
		defer close(done)
		err := ctrl.Run(ctx)
		if err != nil {
			d.log.Error("controller stopped", "fleet", name, "err", err)
			d.emit(api.Event{Fleet: name, Kind: "error", Message: "controller stopped: " + err.Error()})
		}
		run.mu.Lock()
		run.runErr = err
		if run.ctrl == ctrl {
			run.ctrl = nil
		}
		run.mu.Unlock()
	}()
	return nil
}

// bound records the addresses the balancers listen on in their
// listeners.
func bound(st *stack.Stack, addrs map[string]string) {
	for i := range st.Services {
		st.Services[i].LoadBalancer.Listener.Bound = addrs[st.Services[i].Name]
	}
}

// reload hands a changed stack to the running controller. A change of
// balancer settings needs a new controller: the old one stops (its
// instances keep running) and the new one adopts them behind the same
// sockets.
func (d *Daemon) reload(ctx context.Context, run *fleetRun, st *stack.Stack, images map[string]*image.Manifest) error {
	ctrl := run.controller()
	err := ctrl.Reload(ctx, st, images)
	if errors.Is(err, controller.ErrRestartNeeded) {
		d.emit(api.Event{Fleet: st.Fleet.Name, Kind: "restart", Message: err.Error() + ": a new controller adopts the instances"})
		old := ctrl.Addresses()
		run.stopController()
		kept := st.Bound()
		for svc, addr := range old {
			if kept[svc] == "" && d.cfg.Listeners != nil {
				d.cfg.Listeners.Release(addr)
			}
		}
		return d.start(st, images)
	}
	if err != nil {
		return api.Invalid(err)
	}
	bound(st, ctrl.Addresses())
	if err := d.state.save(ctx, st); err != nil {
		return api.Failed(err)
	}
	run.mu.Lock()
	run.rec = st
	run.mu.Unlock()
	return nil
}

// resume starts a stored fleet after a daemon restart, with the images it
// was applied with (the fleet file is not read again).
func (d *Daemon) resume(st *stack.Stack) error {
	images, err := d.imagesOf(st)
	if err != nil {
		return err
	}
	if err := d.start(st, images); err != nil {
		return err
	}
	for _, s := range st.Services {
		d.watchRefresh(s.Group)
	}
	return nil
}

// imagesOf is the images st's services run, from the image store.
func (d *Daemon) imagesOf(st *stack.Stack) (map[string]*image.Manifest, error) {
	images := map[string]*image.Manifest{}
	for svc, digest := range st.Digests() {
		m, err := d.images.Get(digest)
		if err != nil {
			return nil, fmt.Errorf("service %s: image %s: %w", svc, digest[:min(12, len(digest))], err)
		}
		images[svc] = m
	}
	return images, nil
}

// Scale sets desired counts of a fleet's services, all or nothing, as
// SetDesiredCapacity does, for a user or a scaling policy alike: the
// counts are stored first, then the controller acts on them, so a count
// set survives a restart.
func (d *Daemon) Scale(ctx context.Context, fleet string, counts map[string]int) (api.Fleet, error) {
	run := d.fleet(fleet, false)
	if run == nil {
		return api.Fleet{}, api.NotFound(fmt.Errorf("no fleet named %s; start it with vmfleet up", fleet))
	}
	_, end, err := run.beginOp(ctx, false)
	if err != nil {
		return api.Fleet{}, err
	}
	defer end()
	run.mu.Lock()
	ctrl, cur := run.ctrl, run.rec
	run.mu.Unlock()
	if ctrl == nil || cur == nil {
		return api.Fleet{}, api.Conflict(fmt.Errorf("fleet %s has no running controller", fleet))
	}
	next := cur.Clone()
	if err := next.SetDesired(counts); err != nil {
		return api.Fleet{}, api.Invalid(err)
	}
	if err := d.state.save(ctx, next); err != nil {
		return api.Fleet{}, api.Failed(err)
	}
	run.mu.Lock()
	run.rec = next
	run.mu.Unlock()
	if err := ctrl.Scale(ctx, counts); err != nil {
		return api.Fleet{}, api.Invalid(err)
	}
	return ctrl.Status(), nil
}

// Fleet is one fleet's status.
func (d *Daemon) Fleet(name string) (api.Fleet, error) {
	if run := d.fleet(name, false); run != nil {
		if st, ok := run.status(); ok {
			return st, nil
		}
		run.mu.Lock()
		err := run.runErr
		run.mu.Unlock()
		if err != nil {
			return api.Fleet{}, api.Failed(fmt.Errorf("fleet %s: %w", name, err))
		}
		return api.Fleet{Name: name}, nil
	}
	return api.Fleet{}, api.NotFound(fmt.Errorf("no fleet named %s; see vmfleet ls", name))
}

// Fleets lists every fleet.
func (d *Daemon) Fleets() []api.FleetSummary {
	d.waitLoaded(context.Background())
	out := []api.FleetSummary{}
	for _, f := range d.Statuses() {
		fs := api.FleetSummary{Name: f.Name, File: f.File, Down: f.Down, TimeScale: f.TimeScale, Services: []api.ServiceSummary{}}
		for _, s := range f.Services {
			fs.Services = append(fs.Services, api.ServiceSummary{Name: s.Name, Desired: s.Desired, InService: s.InService, Listen: s.Listen,
				Warm: s.Warm, PoolSize: s.WarmPool.SizeOrZero()})
		}
		out = append(out, fs)
	}
	sortFleets(out)
	return out
}

// Down drains and removes a fleet: dependents first, every instance,
// balancer and record. It wins over an apply in progress, and removes the
// fleet's instances even with no controller (one that was killed).
//
// Once asked for, a down is the daemon's to finish: it is recorded in the
// store before anything stops, and runs on the daemon's own lifetime, so
// a client's Ctrl-C leaves the fleet going down, never half up with later
// ups refused, and a daemon restarted meanwhile finishes it (resume).
func (d *Daemon) Down(ctx context.Context, name string, grace time.Duration) error {
	d.mu.Lock()
	ctx = d.ctx
	d.mu.Unlock()
	run := d.fleet(name, false)
	orphans, err := d.fleetInstances(ctx, name)
	if err != nil {
		return err
	}
	if run == nil && len(orphans) == 0 && !d.state.has(ctx, name) {
		return api.NotFound(fmt.Errorf("no fleet named %s; see vmfleet ls", name))
	}
	if err := d.state.deleting(ctx, name); err != nil {
		return api.Failed(err)
	}
	if run != nil {
		_, end, err := run.beginOp(ctx, true)
		if err != nil {
			return err
		}
		defer end()
		defer d.forget(run) // after the records are gone: an up then starts afresh
		if ctrl := run.controller(); ctrl != nil {
			if err := ctrl.Down(ctx, grace); err != nil {
				return api.Failed(fmt.Errorf("down %s: %w", name, err))
			}
			run.stopController()
		}
	}
	// Whatever no controller took down.
	if orphans, err = d.fleetInstances(ctx, name); err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(orphans))
	for i, inst := range orphans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.instances.Terminate(ctx, inst, grace)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return api.Failed(fmt.Errorf("down %s: %w", name, err))
	}
	if err := d.state.remove(ctx, name); err != nil {
		return api.Failed(err)
	}
	d.prune(ctx)
	d.emit(api.Event{Fleet: name, Kind: "down", Message: "fleet removed"})
	return nil
}
