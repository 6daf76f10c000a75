package dashboard

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// fakeFleet is a daemon in memory: one fleet "demo" with a service
// "web", whose scale and faults change what it publishes as the
// controller would, a step at a time (step).
type fakeFleet struct {
	mu      sync.Mutex
	svc     api.Service
	events  []api.Event
	lastID  int64
	follows map[chan api.Event]bool
	faults  []api.FaultRequest
	nextID  int
	history []api.Point // desired, one a second
}

func newFakeFleet(instances, min, max int) *fakeFleet {
	f := &fakeFleet{follows: map[chan api.Event]bool{}}
	f.svc = api.Service{Name: "web", Listen: "127.0.0.1:18080", Image: "web", Min: min, Max: max, CPU: 1, MemoryBytes: 128 << 20,
		Policies: []api.Policy{{Metric: "cpu_utilization", Target: 50}}}
	for range instances {
		id := f.newID()
		f.svc.Instances = append(f.svc.Instances, api.Instance{ID: id, Domain: "vmfleet-demo-web-" + id, Phase: api.InService, Health: "healthy"})
	}
	f.svc.Desired, f.svc.InService = instances, instances
	return f
}

func (f *fakeFleet) newID() string { f.nextID++; return fmt.Sprintf("i-%012x", f.nextID) }

func (f *fakeFleet) Statuses() []api.Fleet {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.svc
	s.Instances = append([]api.Instance(nil), f.svc.Instances...)
	return []api.Fleet{{Name: "demo", TimeScale: 1, Services: []api.Service{s}}}
}

func (f *fakeFleet) Metrics() api.Metrics {
	f.mu.Lock()
	defer f.mu.Unlock()
	sm := api.ServiceMetrics{Fleet: "demo", Service: "web", Desired: f.svc.Desired, InService: f.svc.InService, CPUPercent: 20}
	for _, i := range f.svc.Instances {
		im := api.InstanceMetrics{ID: i.ID, Phase: i.Phase, Health: i.Health, CPUPercent: 20, RSSBytes: 64 << 20, LimitBytes: 160 << 20}
		if i.Health == "unhealthy" {
			im.Reason = "Target.FailedHealthChecks"
		}
		sm.Instances = append(sm.Instances, im)
	}
	return api.Metrics{Time: time.Now(), Services: []api.ServiceMetrics{sm}}
}

func (f *fakeFleet) ActivitiesAfter(id int64, limit int) []api.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := sort.Search(len(f.events), func(i int) bool { return f.events[i].ID > id })
	i = max(i, len(f.events)-limit)
	return append([]api.Event(nil), f.events[i:]...)
}

func (f *fakeFleet) Follow() (<-chan api.Event, func()) {
	ch := make(chan api.Event, 16)
	f.mu.Lock()
	f.follows[ch] = true
	f.mu.Unlock()
	return ch, func() { f.mu.Lock(); delete(f.follows, ch); f.mu.Unlock() }
}

// emit adds an event to the history; f.mu held.
func (f *fakeFleet) emit(kind, instance, msg string) {
	now := time.Now()
	f.lastID = max(f.lastID+1, now.UnixMicro())
	ev := api.Event{ID: f.lastID, Time: now, Fleet: "demo", Service: "web", Instance: instance, Kind: kind, Message: msg}
	f.events = append(f.events, ev)
	for ch := range f.follows {
		select {
		case ch <- ev:
		default:
		}
	}
}

// Emit adds an event, for tests.
func (f *fakeFleet) Emit(kind, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.emit(kind, "", msg)
}

func (f *fakeFleet) Instances(ctx context.Context) ([]api.InstanceRow, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var rows []api.InstanceRow
	for _, i := range f.svc.Instances {
		rows = append(rows, api.InstanceRow{ID: i.ID, Service: "web", Fleet: "demo", Image: "web", State: "running", Phase: i.Phase, Health: i.Health,
			Address: "10.0.2.15", LaunchTemplate: "demo-web:1", Created: time.Now()})
	}
	return rows, nil
}

func (f *fakeFleet) ConsoleTail(ctx context.Context, id string, lines int) (string, error) {
	return "vmfleet-init: " + id + " up\nlistening on :8080\n", nil
}

func (f *fakeFleet) History(entity string, since time.Duration) ([]api.Series, error) {
	now := time.Now().Truncate(time.Second)
	var s []api.Series
	for _, m := range []string{"desired", "in_service", "pending", "conn_rate", "cpu_percent"} {
		pts := []api.Point{}
		for t := int(since / time.Second); t > 0; t-- { // a full window, as a daemon up for long keeps
			pts = append(pts, api.Point{Time: now.Add(-time.Duration(t) * time.Second), Value: 2})
		}
		s = append(s, api.Series{Entity: entity, Metric: m, Points: pts})
	}
	return s, nil
}

func (f *fakeFleet) Scale(ctx context.Context, fleet string, counts map[string]int) (api.Fleet, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := counts["web"]
	if fleet != "demo" || !ok {
		return api.Fleet{}, api.NotFound(fmt.Errorf("no service %s/%v", fleet, counts))
	}
	if n < f.svc.Min || n > f.svc.Max {
		return api.Fleet{}, api.Invalid(fmt.Errorf("desired %d is outside %d..%d", n, f.svc.Min, f.svc.Max))
	}
	f.emit("scaled", "", fmt.Sprintf("desired %d -> %d", f.svc.Desired, n))
	f.svc.Desired = n
	return api.Fleet{}, nil
}

func (f *fakeFleet) InjectFault(ctx context.Context, ref string, req api.FaultRequest) (api.Fault, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, in := range f.svc.Instances {
		if in.ID == ref {
			f.faults = append(f.faults, req)
			if req.Action == api.FaultKill {
				f.svc.Instances[i].Phase, f.svc.Instances[i].Health = api.Terminating, "unhealthy"
				f.emit("fault", ref, "injected: its QEMU killed (kill -9), as a crash")
			}
			return api.Fault{Instance: ref, Action: req.Action}, nil
		}
	}
	return api.Fault{}, api.NotFound(fmt.Errorf("no instance %s", ref))
}

// hasFaults says whether each of want was injected.
func (f *fakeFleet) hasFaults(want ...api.FaultRequest) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range want {
		if !slices.Contains(f.faults, w) {
			return false
		}
	}
	return true
}

func (f *fakeFleet) InjectHostFault(ctx context.Context, req api.FaultRequest) (api.Fault, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, req)
	f.emit("fault", "", "injected: libvirtd stopped")
	return api.Fault{Action: req.Action}, nil
}

// step moves the fleet one step toward its desired count, as a
// controller would: terminated instances go, new ones launch Pending,
// Pending ones come into service.
func (f *fakeFleet) step() {
	f.mu.Lock()
	defer f.mu.Unlock()
	var keep []api.Instance
	live := 0
	for _, i := range f.svc.Instances {
		switch i.Phase {
		case api.Terminating:
			f.emit("terminated", i.ID, "replaced")
			continue
		case api.Pending:
			i.Phase, i.Health = api.InService, "healthy"
			f.emit("healthy", i.ID, "passed its health checks")
		}
		live++
		keep = append(keep, i)
	}
	for ; live < f.svc.Desired; live++ {
		id := f.newID()
		keep = append(keep, api.Instance{ID: id, Domain: "vmfleet-demo-web-" + id, Phase: api.Pending, Health: "initial"})
		f.emit("launched", id, "launching a new instance")
	}
	for live > f.svc.Desired {
		live--
		keep[len(keep)-1].Phase = api.Terminating
	}
	f.svc.Instances = keep
	f.svc.InService = 0
	for _, i := range keep {
		if i.Phase == api.InService {
			f.svc.InService++
		}
	}
}
