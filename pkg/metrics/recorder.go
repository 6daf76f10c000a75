// Package metrics is the daemon's monitoring: each second it turns what
// libvirt and the balancers report into rates, keeps an hour of them at
// one point a second, and serves the latest second to the API (vmfleet
// top), the history to vmfleet metrics, and everything to Prometheus
// through a collector that reads at scrape time.
package metrics

import (
	"sort"
	"sync"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/balancer"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

// Group is what one sample knows of a service: its counts and members
// from the controller, its targets from the balancer.
type Group struct {
	Fleet, Service string
	Desired        int
	Min, Max       int
	CPU            float64 // each instance's cap, cores
	LimitBytes     uint64  // each instance's memory hard limit
	Members        []Member
	Targets        []balancer.TargetStatus
}

// Member is one instance of a group.
type Member struct {
	ID, Domain, Address, Phase string
	Health                     string
}

// counters is an instance's cumulative numbers at one sample.
type counters struct {
	t                        time.Time
	cpu                      time.Duration
	rx, tx, rd, wr           uint64
	conns, bytesIn, bytesOut int64
}

// Recorder keeps the history. Record is called once a second by one
// goroutine; the readers may be any.
type Recorder struct {
	mu     sync.Mutex
	prev   map[string]counters // by instance id
	latest api.Metrics
	totals map[string]counters // the latest counters, for Prometheus
	series map[seriesKey]*ring
	seen   map[string]time.Time // entity -> last sample, to drop the gone
}

type seriesKey struct{ entity, metric string }

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder {
	return &Recorder{prev: map[string]counters{}, totals: map[string]counters{}, series: map[seriesKey]*ring{}, seen: map[string]time.Time{}}
}

// Record turns one sample into the latest second and the history.
func (r *Recorder) Record(now time.Time, stats map[string]hypervisor.Stats, groups []Group) api.Metrics {
	out := api.Metrics{Time: now.UTC(), Services: []api.ServiceMetrics{}}
	next := map[string]counters{}
	for _, g := range groups {
		byAddr := map[string]balancer.TargetStatus{}
		for _, t := range g.Targets {
			byAddr[t.Addr] = t
		}
		sm := api.ServiceMetrics{Fleet: g.Fleet, Service: g.Service, Desired: g.Desired, Min: g.Min, Max: g.Max, Instances: []api.InstanceMetrics{}}
		var cpuSum float64
		for _, m := range g.Members {
			switch m.Phase {
			case api.InService:
				sm.InService++
			case api.Pending, api.PendingWait:
				sm.Pending++
			case api.Terminating, api.TerminatingWait:
				sm.Draining++
			}
			im := api.InstanceMetrics{ID: m.ID, Phase: m.Phase, Health: m.Health, CPUCap: g.CPU, LimitBytes: g.LimitBytes}
			st, running := stats[m.Domain]
			tg, balanced := byAddr[m.Address]
			c := counters{t: now, cpu: st.CPUTime, rx: st.NetRxBytes, tx: st.NetTxBytes, rd: st.BlockReadBytes, wr: st.BlockWriteBytes}
			if balanced {
				im.Reason, im.ActiveConns = tg.Reason, tg.ActiveConns
				c.conns, c.bytesIn, c.bytesOut = tg.Connections, tg.BytesIn, tg.BytesOut
				if c.rx == 0 && c.tx == 0 {
					// User-mode networking has no interface counters in
					// libvirt: the instance's traffic is what its balancer
					// carries to and from it.
					c.rx, c.tx = uint64(tg.BytesIn), uint64(tg.BytesOut)
				}
			}
			if running {
				im.RSSBytes, im.GuestBytes, im.GuestUsedBytes = st.RSSKiB*1024, st.MemoryKiB*1024, st.GuestUsedKiB*1024
			}
			if p, ok := r.prev[m.ID]; ok && m.ID != "" {
				if dt := now.Sub(p.t).Seconds(); dt > 0 {
					if running && g.CPU > 0 && c.cpu >= p.cpu {
						im.CPUPercent = 100 * (c.cpu - p.cpu).Seconds() / dt / g.CPU
					}
					im.NetRxRate = rate(c.rx, p.rx, dt)
					im.NetTxRate = rate(c.tx, p.tx, dt)
					im.DiskRead = rate(c.rd, p.rd, dt)
					im.DiskWrite = rate(c.wr, p.wr, dt)
					if c.conns >= p.conns {
						im.ConnRate = float64(c.conns-p.conns) / dt
					}
				}
			}
			if m.ID != "" {
				next[m.ID] = c
			}
			if m.Phase == api.InService {
				cpuSum += im.CPUPercent
			}
			sm.ConnRate += im.ConnRate
			sm.ActiveConns += im.ActiveConns
			sm.Instances = append(sm.Instances, im)
		}
		if sm.InService > 0 {
			sm.CPUPercent = cpuSum / float64(sm.InService)
		}
		sort.Slice(sm.Instances, func(i, j int) bool { return sm.Instances[i].ID < sm.Instances[j].ID })
		out.Services = append(out.Services, sm)
	}
	sort.Slice(out.Services, func(i, j int) bool {
		a, b := out.Services[i], out.Services[j]
		return a.Fleet < b.Fleet || (a.Fleet == b.Fleet && a.Service < b.Service)
	})

	r.mu.Lock()
	defer r.mu.Unlock()
	r.prev, r.totals, r.latest = next, next, out
	r.keep(now, out)
	return out
}

func rate(now, before uint64, dt float64) float64 {
	if now < before {
		return 0 // a counter reset (the domain restarted)
	}
	return float64(now-before) / dt
}

// keep appends the second to the history and forgets entities not seen
// for longer than it is kept; r.mu held.
func (r *Recorder) keep(now time.Time, m api.Metrics) {
	put := func(entity, metric string, v float64) {
		k := seriesKey{entity, metric}
		s := r.series[k]
		if s == nil {
			s = &ring{}
			r.series[k] = s
		}
		s.put(now, v)
		r.seen[entity] = now
	}
	for _, s := range m.Services {
		e := s.Fleet + "/" + s.Service
		put(e, "desired", float64(s.Desired))
		put(e, "in_service", float64(s.InService))
		put(e, "pending", float64(s.Pending))
		put(e, "draining", float64(s.Draining))
		put(e, "cpu_percent", s.CPUPercent)
		put(e, "conn_rate", s.ConnRate)
		put(e, "active_conns", float64(s.ActiveConns))
		for _, i := range s.Instances {
			put(i.ID, "cpu_percent", i.CPUPercent)
			put(i.ID, "rss_bytes", float64(i.RSSBytes))
			put(i.ID, "limit_bytes", float64(i.LimitBytes))
			put(i.ID, "guest_used_bytes", float64(i.GuestUsedBytes))
			put(i.ID, "net_rx_rate", i.NetRxRate)
			put(i.ID, "net_tx_rate", i.NetTxRate)
			put(i.ID, "disk_read_rate", i.DiskRead)
			put(i.ID, "disk_write_rate", i.DiskWrite)
			put(i.ID, "active_conns", float64(i.ActiveConns))
			put(i.ID, "conn_rate", i.ConnRate)
		}
	}
	for e, t := range r.seen {
		if now.Sub(t) > Retention {
			delete(r.seen, e)
			for k := range r.series {
				if k.entity == e {
					delete(r.series, k)
				}
			}
		}
	}
}

// Latest is the newest second.
func (r *Recorder) Latest() api.Metrics {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.latest
}

// units of the kept metrics.
var units = map[string]string{
	"desired": "instances", "in_service": "instances", "pending": "instances", "draining": "instances",
	"cpu_percent": "percent of cap", "conn_rate": "per second", "active_conns": "connections",
	"rss_bytes": "bytes", "limit_bytes": "bytes", "guest_used_bytes": "bytes", "net_rx_rate": "bytes per second", "net_tx_rate": "bytes per second",
	"disk_read_rate": "bytes per second", "disk_write_rate": "bytes per second",
}

// History returns every series of an entity (an instance id, or
// fleet/service) over the last d.
func (r *Recorder) History(now time.Time, entity string, d time.Duration) []api.Series {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []api.Series
	for k, s := range r.series {
		if k.entity == entity {
			out = append(out, api.Series{Entity: entity, Metric: k.metric, Unit: units[k.metric], Points: s.since(now, d)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Metric < out[j].Metric })
	return out
}

// Entities lists what has history: fleet/service names and instance ids.
func (r *Recorder) Entities() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.seen))
	for e := range r.seen {
		out = append(out, e)
	}
	sort.Strings(out)
	return out
}
