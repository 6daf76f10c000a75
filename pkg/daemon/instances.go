package daemon

import (
	"context"
	"fmt"
	"sort"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/instance"
)

// fleetInstances is what libvirt runs for a fleet of this home.
func (d *Daemon) fleetInstances(ctx context.Context, fleet string) ([]*instance.Instance, error) {
	list, err := d.instances.List(ctx)
	if err != nil {
		return nil, api.Failed(fmt.Errorf("list instances: %w", err))
	}
	var out []*instance.Instance
	for _, i := range list {
		if i.Fleet == fleet && d.owns(i) {
			out = append(out, i)
		}
	}
	return out, nil
}

// prune removes images that re-bakes left unnamed and nothing boots.
func (d *Daemon) prune(ctx context.Context) {
	list, err := d.instances.List(ctx)
	if err != nil {
		return
	}
	used := map[string]bool{}
	for _, i := range list {
		used[i.ImageDigest] = true
	}
	d.mu.Lock()
	for _, r := range d.fleets {
		r.mu.Lock()
		if r.rec != nil {
			for _, dg := range r.rec.Digests() {
				used[dg] = true
			}
		}
		r.mu.Unlock()
	}
	d.mu.Unlock()
	keep := func(dg string) bool {
		if !used[dg] {
			d.spares.DropImage(dg) // before its disk goes
		}
		return used[dg]
	}
	if err := d.images.Prune(keep); err != nil {
		d.log.Warn("prune images", "err", err)
	}
}

func sortFleets(f []api.FleetSummary) {
	sort.Slice(f, func(i, j int) bool { return f[i].Name < f[j].Name })
}
