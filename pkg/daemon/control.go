package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/controller"
	"github.com/vmfleet/vmfleet/pkg/fleetfile"
	"github.com/vmfleet/vmfleet/pkg/image"
)

// start makes rec's controller, binds its balancers and runs it; it
// adopts what libvirt already runs for the fleet. The record is saved
// once the balancers listen (their bound ports are part of it).
func (d *Daemon) start(rec *record, images map[string]*image.Manifest) error {
	run := d.fleet(rec.Name, true)
	d.mu.Lock()
	dctx := d.ctx
	d.mu.Unlock()
	ctx, stop := context.WithCancel(dctx)
	var ctrl *controller.Controller
	ctrl = controller.New(controller.Options{
		Fleet: rec.Spec, Images: images, Instances: d.instances, Log: d.log.With("fleet", rec.Name),
		BootCPUs: rec.BootCPUs, Listen: rec.Listen, Desired: rec.Desired, Listeners: d.cfg.Listeners, Protected: rec.Protected,
		OnChange: func(st controller.State) { d.onChange(run, st) },
		Observe:  d.emit,
		Links:    d.links,
	})
	if err := ctrl.Listen(ctx); err != nil {
		stop()
		return api.Invalid(err)
	}
	rec.Listen = ctrl.Addresses()
	gen, err := d.state.save(dctx, rec)
	if err != nil {
		stop()
		return api.Failed(err)
	}
	rec.Generation = gen
	done := make(chan struct{})
	run.mu.Lock()
	run.rec, run.ctrl, run.stop, run.done, run.runErr = rec, ctrl, stop, done, nil
	run.mu.Unlock()
	go func() {
		defer close(done)
		err := ctrl.Run(ctx)
		if err != nil {
			d.log.Error("controller stopped", "fleet", rec.Name, "err", err)
			d.emit(api.Event{Fleet: rec.Name, Kind: "error", Message: "controller stopped: " + err.Error()})
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

// reload hands a changed record to the running controller. A change of
// balancer settings needs a new controller: the old one stops (its
// instances keep running) and the new one adopts them behind the same
// sockets.
func (d *Daemon) reload(ctx context.Context, run *fleetRun, rec *record, f *fleetfile.Fleet, images map[string]*image.Manifest) error {
	ctrl := run.controller()
	err := ctrl.Reload(ctx, f, images)
	if errors.Is(err, controller.ErrRestartNeeded) {
		d.emit(api.Event{Fleet: f.Name, Kind: "restart", Message: err.Error() + ": a new controller adopts the instances"})
		old := ctrl.Addresses()
		run.stopController()
		for svc, addr := range old {
			if _, kept := rec.Listen[svc]; !kept && d.cfg.Listeners != nil {
				d.cfg.Listeners.Release(addr)
			}
		}
		return d.start(rec, images)
	}
	if err != nil {
		return api.Invalid(err)
	}
	rec.Listen = ctrl.Addresses()
	gen, err := d.state.save(ctx, rec)
	if err != nil {
		return api.Failed(err)
	}
	rec.Generation = gen
	run.mu.Lock()
	run.rec = rec
	run.mu.Unlock()
	return nil
}

// onChange records counts changed by scale. It is called on the
// controller's goroutine, which must not wait on the disk: the save runs
// aside, and always writes the latest record.
func (d *Daemon) onChange(run *fleetRun, st controller.State) {
	run.mu.Lock()
	if run.rec == nil {
		run.mu.Unlock()
		return
	}
	cp := *run.rec
	cp.Desired, cp.Protected = st.Desired, st.Protected
	run.rec = &cp
	run.mu.Unlock()
	go func() {
		run.saving.Lock()
		defer run.saving.Unlock()
		run.mu.Lock()
		latest := run.rec
		run.mu.Unlock()
		if latest == nil {
			return
		}
		if _, err := d.state.save(context.Background(), latest); err != nil {
			d.log.Warn("save fleet state", "fleet", latest.Name, "err", err)
		}
	}()
}

// resume starts a recorded fleet after a daemon restart, with the images
// it was applied with (the fleet file is not read again).
func (d *Daemon) resume(ctx context.Context, rec *record) error {
	images := map[string]*image.Manifest{}
	for svc, digest := range rec.Images {
		m, err := d.images.Get(digest)
		if err != nil {
			return fmt.Errorf("service %s: image %s: %w", svc, short(digest), err)
		}
		images[svc] = m
	}
	return d.start(rec, images)
}

// Scale sets desired counts of a fleet's services, all or nothing.
func (d *Daemon) Scale(ctx context.Context, fleet string, counts map[string]int) (api.Fleet, error) {
	run := d.fleet(fleet, false)
	if run == nil {
		return api.Fleet{}, api.NotFound(fmt.Errorf("no fleet named %s; start it with vmfleet up", fleet))
	}
	ctrl := run.controller()
	if ctrl == nil {
		return api.Fleet{}, api.Conflict(fmt.Errorf("fleet %s has no running controller", fleet))
	}
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
	out := []api.FleetSummary{}
	for _, f := range d.statuses() {
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
// balancer and record. It wins over an apply in progress, and removes
// the fleet's instances even with no controller (one that was killed).
func (d *Daemon) Down(ctx context.Context, name string, grace time.Duration) error {
	run := d.fleet(name, false)
	orphans, err := d.fleetInstances(ctx, name)
	if err != nil {
		return err
	}
	if run == nil && len(orphans) == 0 {
		return api.NotFound(fmt.Errorf("no fleet named %s; see vmfleet ls", name))
	}
	if run != nil {
		_, end, err := run.beginOp(ctx, true)
		if err != nil {
			return err
		}
		defer end()
		ctrl := run.controller()
		if ctrl != nil {
			if err := ctrl.Down(ctx); err != nil {
				return api.Failed(fmt.Errorf("down %s: %w", name, err))
			}
			run.stopController()
		}
		d.forget(run)
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
