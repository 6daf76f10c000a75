package dashboard

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/autoscale"
)

// A chart's columns, in order, after the time: the group's counts, the
// connections a second through its balancer, then each tracked metric
// and its target.
var chartColumns = []string{"desired", "in service", "pending", "connections/s"}

// markedKinds are the activities drawn over the charts: what changed the
// count, and faults.
var markedKinds = map[string]bool{"scaled": true, "autoscaling": true, "replacing": true, "fault": true, "refresh": true, "rollout": true}

// point is every service's chart values at one second, as the stream
// sends it; the page appends it to each chart.
type point struct {
	T float64              `json:"t"` // seconds since the epoch
	S map[string][]float64 `json:"s"` // by fleet/service, chart columns
}

func pointOf(f *frame) point {
	p := point{T: float64(f.At.UnixMilli()) / 1000, S: map[string][]float64{}}
	for _, fl := range f.View.Fleets {
		for _, s := range fl.Services {
			row := []float64{float64(s.Desired), float64(s.InService), float64(s.Pending), s.ConnRate}
			for _, pol := range s.Policies {
				v, _ := tracked(pol.Metric, s.CPUPercent, s.ConnRate, s.InService, fl.TimeScale)
				row = append(row, v, pol.Target)
			}
			p.S[s.Key()] = row
		}
	}
	return p
}

// tracked is a policy's metric from the service's second: what target
// tracking compares with its target. The network metrics are not kept
// per service, so they are not charted.
func tracked(metric string, cpu, connRate float64, inService int, timeScale float64) (float64, bool) {
	switch autoscale.Metric(metric) {
	case autoscale.CPUUtilization:
		return cpu, true
	case autoscale.RequestCountPerTarget:
		// Requests each target gets per period: AWS's minute, scaled.
		if timeScale <= 0 {
			timeScale = 1
		}
		return connRate / float64(max(inService, 1)) * 60 * timeScale, true
	}
	return 0, false
}

// chart is a service's last minutes, columns aligned on one time axis as
// uPlot takes them (nil for a gap), with its activities as markers.
type chart struct {
	Key      string       `json:"key"`
	Columns  []string     `json:"columns"`
	Policies []api.Policy `json:"policies"`
	Data     [][]*float64 `json:"data"`
	Markers  []marker     `json:"markers"`
}

type marker struct {
	T    float64 `json:"t"`
	Kind string  `json:"kind"`
	Text string  `json:"text"`
}

// charts serves ?fleet=F&service=S's chart.
func (s *Server) charts(w http.ResponseWriter, r *http.Request) {
	fleet, name := r.URL.Query().Get("fleet"), r.URL.Query().Get("service")
	sv, scale, ok := s.service(fleet, name)
	if !ok {
		http.Error(w, "no service "+fleet+"/"+name+"; reload the page", http.StatusNotFound)
		return
	}
	series, err := s.src.History(sv.Key(), chartWindow)
	if err != nil {
		series = nil // new: no history yet
	}
	c := buildChart(sv, scale, series)
	since := time.Now().Add(-chartWindow)
	for _, ev := range s.src.ActivitiesAfter(since.UnixMicro(), 10*activitiesShown) {
		if ev.Fleet == fleet && ev.Service == name && markedKinds[ev.Kind] {
			c.Markers = append(c.Markers, marker{T: float64(ev.Time.UnixMilli()) / 1000, Kind: ev.Kind, Text: ev.Message})
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(c)
}

// buildChart aligns the service's kept series on the seconds its desired
// count was kept.
func buildChart(sv serviceView, timeScale float64, series []api.Series) chart {
	c := chart{Key: sv.Key(), Columns: append([]string(nil), chartColumns...), Policies: sv.Policies, Markers: []marker{}}
	for _, p := range sv.Policies {
		c.Columns = append(c.Columns, p.Metric, p.Metric+" target")
	}
	by := map[string]map[int64]float64{}
	var times []int64
	for _, s := range series {
		m := make(map[int64]float64, len(s.Points))
		for _, p := range s.Points {
			m[p.Time.Unix()] = p.Value
			if s.Metric == "desired" {
				times = append(times, p.Time.Unix())
			}
		}
		by[s.Metric] = m
	}
	c.Data = make([][]*float64, len(c.Columns)+1)
	for _, t := range times {
		get := func(metric string) (float64, bool) { v, ok := by[metric][t]; return v, ok }
		c.Data[0] = append(c.Data[0], new(float64(t)))
		for i, metric := range []string{"desired", "in_service", "pending", "conn_rate"} {
			c.Data[i+1] = append(c.Data[i+1], value(get(metric)))
		}
		cpu, _ := get("cpu_percent")
		conns, _ := get("conn_rate")
		in, _ := get("in_service")
		for j, p := range sv.Policies {
			c.Data[len(chartColumns)+1+2*j] = append(c.Data[len(chartColumns)+1+2*j], value(tracked(p.Metric, cpu, conns, int(in), timeScale)))
			c.Data[len(chartColumns)+2+2*j] = append(c.Data[len(chartColumns)+2+2*j], new(p.Target))
		}
	}
	for i := range c.Data {
		if c.Data[i] == nil {
			c.Data[i] = []*float64{}
		}
	}
	return c
}

func value(v float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	return &v
}
