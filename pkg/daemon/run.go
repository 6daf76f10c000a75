package daemon

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/instance"
)

// RunInstance boots one instance of an image outside any fleet.
func (d *Daemon) RunInstance(ctx context.Context, req api.RunRequest) (api.InstanceRow, error) {
	m, err := d.images.Get(req.Image)
	if err != nil {
		return api.InstanceRow{}, api.NotFound(err)
	}
	inst, err := d.spares.Launch(ctx, instance.Options{
		Image: m, Service: req.Service, CPU: req.CPU, MemoryBytes: req.MemoryBytes, HostPort: req.HostPort, Env: req.Env,
		HostPorts: req.EgressHostPorts, Internet: req.Internet, ColdBoot: req.ColdBoot,
	})
	if err != nil {
		if instance.Permanent(err) {
			return api.InstanceRow{}, api.Invalid(err)
		}
		return api.InstanceRow{}, api.Failed(err)
	}
	return rowOf(inst), nil
}

// Remove stops instances and removes their domain, disk and log: after
// the power button and grace, or at once with no grace.
func (d *Daemon) Remove(ctx context.Context, refs []string, grace time.Duration) ([]string, error) {
	var insts []*instance.Instance
	for _, ref := range refs {
		inst, err := d.instances.Get(ctx, ref)
		if err != nil {
			if errors.Is(err, instance.ErrNoInstance) {
				return nil, api.NotFound(err)
			}
			return nil, api.Failed(err)
		}
		if !d.owns(inst) {
			return nil, api.NotFound(fmt.Errorf("instance %s belongs to another vmfleet home (%s)", ref, inst.Dir))
		}
		insts = append(insts, inst)
	}
	errs := make([]error, len(insts))
	var wg sync.WaitGroup
	for i, inst := range insts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.instances.Terminate(ctx, inst, grace)
			d.links.Drop(inst.Domain)
		}()
	}
	wg.Wait()
	var removed []string
	for i, err := range errs {
		if err == nil {
			removed = append(removed, insts[i].ID)
		}
	}
	if err := d.forgetTargets(ctx, removed); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, api.Failed(err)
	}
	return removed, nil
}

// Stats samples every running instance's CPU over interval, with its caps.
func (d *Daemon) Stats(ctx context.Context, fleet string, interval time.Duration) ([]api.Stats, error) {
	list, err := d.instances.List(ctx)
	if err != nil {
		return nil, api.Failed(err)
	}
	before, err := d.hv.Stats(ctx)
	if err != nil {
		return nil, api.Failed(err)
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(interval):
	}
	after, err := d.hv.Stats(ctx)
	if err != nil {
		return nil, api.Failed(err)
	}
	rows := []api.Stats{}
	for _, i := range sortedInstances(list) {
		a, ok := after[i.Domain]
		b, okb := before[i.Domain]
		if !ok || !okb || !d.owns(i) || (fleet != "" && i.Fleet != fleet) {
			continue
		}
		r := api.Stats{Fleet: i.Fleet, Service: i.Service, ID: i.ID, CPUPercent: hypervisor.CPUPercent(b, a),
			RSSBytes: a.RSSKiB * 1024, GuestBytes: a.MemoryKiB * 1024}
		if lim, err := d.hv.Limits(ctx, i.Domain); err == nil {
			if lim.CPUQuota > 0 && lim.CPUPeriod > 0 {
				r.CPUCap = float64(lim.CPUQuota) / float64(lim.CPUPeriod)
			}
			r.LimitBytes = lim.MemoryHardLimitKiB * 1024
		}
		if pss, err := d.hv.PSS(ctx, i.Domain); err == nil {
			r.PSSBytes = pss * 1024
		}
		if until, ok := d.instances.Bursting(i.Domain); ok {
			r.BurstUntil = &until
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func rowOf(i *instance.Instance) api.InstanceRow {
	return api.InstanceRow{ID: i.ID, Domain: i.Domain, Service: i.Service, Fleet: i.Fleet, Image: i.Image,
		ImageDigest: i.ImageDigest, State: string(i.State), Address: i.Address, HostPort: i.HostPort,
		GuestPort: i.GuestPort, Console: i.Console, Dir: i.Dir, Created: i.Created, Health: "-",
		EgressHostPorts: i.Reach.HostPorts, Internet: i.Reach.Internet, Snapshot: i.Snapshot, LaunchTemplate: i.Template,
		InstanceType: i.InstanceType, Tags: tagsOf(i.Tags)}
}

func tagsOf(tags []instance.Tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

// sortedInstances orders instances as a fleet reads: by fleet, then
// service, then age (List's order).
func sortedInstances(list []*instance.Instance) []*instance.Instance {
	out := append([]*instance.Instance(nil), list...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Fleet != out[j].Fleet {
			return out[i].Fleet < out[j].Fleet
		}
		return out[i].Service < out[j].Service
	})
	return out
}

// Protect sets an instance's scale-in protection through its fleet's
// controller.
func (d *Daemon) Protect(ctx context.Context, ref string, on bool) error {
	inst, err := d.instances.Get(ctx, ref)
	if err != nil {
		if errors.Is(err, instance.ErrNoInstance) {
			return api.NotFound(err)
		}
		return api.Failed(err)
	}
	run := d.fleet(inst.Fleet, false)
	if inst.Fleet == "" || run == nil || !d.owns(inst) {
		return api.Invalid(fmt.Errorf("protect %s: the instance is in no fleet of this daemon; only a group's instances can be protected from scale-in", ref))
	}
	ctrl := run.controller()
	if ctrl == nil {
		return api.Conflict(fmt.Errorf("fleet %s has no running controller", inst.Fleet))
	}
	// The instance's metadata is the truth, as AWS keeps the setting on
	// the instance: a restarted controller reads it back.
	if err := d.instances.SetProtected(ctx, inst, on); err != nil {
		return api.Failed(err)
	}
	if err := ctrl.Protect(ctx, []string{inst.ID}, on); err != nil {
		return api.Invalid(err)
	}
	return nil
}
