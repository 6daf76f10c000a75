package dashboard

import (
	"sort"
	"strings"

	"github.com/vmfleet/vmfleet/pkg/api"
	traffic "github.com/vmfleet/vmfleet/pkg/load"
)

// view is the fleet's state at one moment, as the page draws it; a
// recorded view is never changed, so readers share it.
type view struct {
	Fleets []fleetView
}

type fleetView struct {
	Name      string
	TimeScale float64
	Down      bool
	Services  []serviceView
}

// serviceView is one Auto Scaling group with its target group.
type serviceView struct {
	Fleet, Name, Listen, Image   string
	Desired, InService, Min, Max int
	Pending, Terminating, Warm   int
	CPUPercent, ConnRate         float64
	Policies                     []api.Policy
	LaunchError                  string
	Tiles                        []tile
	// Load is the page's load on the service, while it runs and after.
	Load *loadView
}

// tile is one instance.
type tile struct {
	ID, Phase, Health, Reason string
	CPUPercent, MemPercent    float64 // of its cap, of its memory limit
	Protected, Outdated       bool
	// Launching: a launch with no machine yet (no domain), named by its
	// controller until it has an instance id.
	Launching bool
}

// loadView is a load the page started.
type loadView struct {
	Rate    float64
	Seconds int
	Running bool
	Report  traffic.Report
	Error   string
}

// key names a service across fleets.
func (s serviceView) Key() string { return s.Fleet + "/" + s.Name }

// buildView joins what the controllers publish with the latest second of
// metrics (CPU, memory, health reasons) and the page's loads.
func buildView(fleets []api.Fleet, m api.Metrics, loads map[string]loadView) view {
	type key struct{ fleet, service string }
	metricsOf := map[key]api.ServiceMetrics{}
	for _, s := range m.Services {
		metricsOf[key{s.Fleet, s.Service}] = s
	}
	v := view{Fleets: make([]fleetView, 0, len(fleets))}
	for _, f := range fleets {
		fv := fleetView{Name: f.Name, TimeScale: f.TimeScale, Down: f.Down}
		for _, s := range f.Services {
			sm := metricsOf[key{f.Name, s.Name}]
			inst := map[string]api.InstanceMetrics{}
			for _, i := range sm.Instances {
				inst[i.ID] = i
			}
			sv := serviceView{Fleet: f.Name, Name: s.Name, Listen: traffic.Loopback(s.Listen), Image: s.Image, Desired: s.Desired, InService: s.InService,
				Min: s.Min, Max: s.Max, Warm: s.Warm, CPUPercent: sm.CPUPercent, ConnRate: sm.ConnRate, Policies: s.Policies, LaunchError: s.LaunchError}
			for _, i := range s.Instances {
				im := inst[i.ID]
				t := tile{ID: i.ID, Phase: i.Phase, Health: i.Health, Reason: im.Reason, CPUPercent: im.CPUPercent,
					Protected: i.Protected, Outdated: i.Outdated, Launching: i.Domain == ""}
				if im.LimitBytes > 0 {
					t.MemPercent = 100 * float64(im.RSSBytes) / float64(im.LimitBytes)
				}
				switch phaseClass(i.Phase) {
				case "pending":
					sv.Pending++
				case "terminating":
					sv.Terminating++
				}
				sv.Tiles = append(sv.Tiles, t)
			}
			if l, ok := loads[sv.Key()]; ok {
				sv.Load = &l
			}
			fv.Services = append(fv.Services, sv)
		}
		v.Fleets = append(v.Fleets, fv)
	}
	return v
}

// phaseClass groups the lifecycle states a tile is coloured by.
func phaseClass(phase string) string {
	switch {
	case phase == api.InService:
		return "inservice"
	case phase == terminated:
		return "terminated"
	case strings.HasPrefix(phase, "Warmed:"):
		return "warmed"
	case strings.HasPrefix(phase, api.Pending):
		return "pending"
	case strings.HasPrefix(phase, api.Terminating):
		return "terminating"
	case phase == api.Standby:
		return "standby"
	}
	return "other"
}

// sortTiles orders tiles by instance id, as the controllers do, so a
// terminated one keeps its place.
func sortTiles(ts []tile) {
	sort.Slice(ts, func(i, j int) bool { return ts[i].ID < ts[j].ID })
}

// find is the service named fleet/name in v, and its fleet's time
// scale.
func (v view) find(fleet, name string) (serviceView, float64, bool) {
	for _, f := range v.Fleets {
		for _, s := range f.Services {
			if f.Name == fleet && s.Name == name {
				return s, f.TimeScale, true
			}
		}
	}
	return serviceView{}, 0, false
}

// service is the service named fleet/name as the page shows it now.
func (s *Server) service(fleet, name string) (serviceView, float64, bool) {
	f, _ := s.rec.latest()
	if f == nil {
		return serviceView{}, 0, false
	}
	return f.View.find(fleet, name)
}
