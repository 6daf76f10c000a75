package daemon

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/cadence"
	"github.com/vmfleet/vmfleet/pkg/instance"
	"github.com/vmfleet/vmfleet/pkg/metrics"
)

// sampleEvery is the metrics' resolution.
const sampleEvery = time.Second

// sample collects every fleet's metrics once a second until ctx ends:
// one libvirt call for every domain's counters, the balancers' counters
// read in memory, the controllers' published status.
func (d *Daemon) sample(ctx context.Context) {
	// On the cadence grid, so the sampler wakes with the health checks.
	tick := time.NewTimer(cadence.Until(sampleEvery))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			tick.Reset(cadence.Until(sampleEvery))
			d.instances.EndDueBursts(ctx, now)
			stats, err := d.hv.Stats(ctx)
			if err != nil {
				continue // libvirtd away: a gap in the history
			}
			m := d.metrics.Record(now, stats, d.groups())
			d.observe(m)
		}
	}
}

// groups is what the controllers know of every service now.
func (d *Daemon) groups() []metrics.Group {
	runs := d.runs()
	var out []metrics.Group
	for _, r := range runs {
		ctrl := r.controller()
		if ctrl == nil {
			continue
		}
		st, bals := ctrl.Status(), ctrl.Balancers()
		for _, s := range st.Services {
			g := metrics.Group{Fleet: st.Name, Service: s.Name, Desired: s.Desired, Min: s.Min, Max: s.Max, CPU: s.CPU,
				LimitBytes: uint64(instance.MemoryLimit(s.MemoryBytes))}
			for _, i := range s.Instances {
				g.Members = append(g.Members, metrics.Member{ID: i.ID, Domain: i.Domain, Address: i.Address, Phase: i.Phase, Health: i.Health})
			}
			if b := bals[s.Name]; b != nil {
				g.Targets = b.Targets()
			}
			out = append(out, g)
		}
	}
	return out
}

// observe hands each fleet's second to its controller, for its target
// tracking.
func (d *Daemon) observe(m api.Metrics) {
	byFleet := map[string][]api.ServiceMetrics{}
	for _, s := range m.Services {
		byFleet[s.Fleet] = append(byFleet[s.Fleet], s)
	}
	runs := d.runs()
	for _, r := range runs {
		ctrl := r.controller()
		if ctrl != nil {
			ctrl.Observe(m.Time, sampleEvery, byFleet[r.name])
		}
	}
}

// Prometheus serves the metrics in Prometheus's text format, read at
// scrape time.
func (d *Daemon) Prometheus() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(d.metrics, d.events.counts, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// Metrics is the latest second of every fleet.
func (d *Daemon) Metrics() api.Metrics { return d.metrics.Latest() }

// History is an entity's series (an instance id, or fleet/service, or a
// service name when only one fleet has it) over the last since.
func (d *Daemon) History(entity string, since time.Duration) ([]api.Series, error) {
	now := time.Now()
	if h := d.metrics.History(now, entity, since); len(h) > 0 {
		return h, nil
	}
	var match []string
	for _, e := range d.metrics.Entities() {
		if strings.HasSuffix(e, "/"+entity) {
			match = append(match, e)
		}
	}
	switch len(match) {
	case 1:
		return d.metrics.History(now, match[0], since), nil
	case 0:
		return nil, api.NotFound(errNoHistory(entity))
	}
	return nil, api.Invalid(errAmbiguous(entity, match))
}

func errNoHistory(entity string) error {
	return fmt.Errorf("metrics: nothing is known of %q; name a service (FLEET/SERVICE or SERVICE) or an instance id (see vmfleet ps)", entity)
}

func errAmbiguous(entity string, match []string) error {
	return fmt.Errorf("metrics: several fleets have a service %q (%v); name it as FLEET/SERVICE", entity, match)
}
