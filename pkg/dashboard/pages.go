package dashboard

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
)

var funcs = template.FuncMap{
	"phaseClass": phaseClass,
	// pct is a bar's width: 0 to 100.
	"pct": func(v float64) string { return strconv.FormatFloat(math.Round(min(max(v, 0), 100)), 'f', 0, 64) },
	"num": func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) },
	"round": func(v float64) string {
		return strconv.FormatFloat(v, 'f', 1, 64)
	},
	"clock": func(t time.Time) string { return t.Local().Format(time.TimeOnly) },
	"unix":  func(t time.Time) string { return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64) },
	"add":   func(a, b int) int { return a + b },
	"ms": func(d time.Duration) string {
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
	},
	"mib": func(b uint64) string { return strconv.FormatUint(b>>20, 10) },
	"tracked": func(p api.Policy, s serviceView, timeScale float64) string {
		v, ok := tracked(p.Metric, s.CPUPercent, s.ConnRate, s.InService, timeScale)
		if !ok {
			return "not charted"
		}
		return strconv.FormatFloat(v, 'f', 1, 64)
	},
}

// pageData is the whole page.
type pageData struct {
	Fleets     fleetsData
	Controls   bool
	Kiosk      bool
	CSRF       string
	After      int64 // the newest activity listed
	Activities []api.Event
	RewindSecs int
	MaxRate    float64
}

// page serves the page with the current state; the stream keeps it live.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	d := pageData{Fleets: fleetsData{Controls: s.opts.Controls}, Controls: s.opts.Controls, Kiosk: r.URL.Query().Has("kiosk"), CSRF: s.auth.csrf,
		RewindSecs: int(rewindWindow / time.Second), MaxRate: maxRate}
	if f, _ := s.rec.latest(); f != nil {
		d.Fleets.View = f.View
	}
	evs := s.src.ActivitiesAfter(0, activitiesShown)
	if len(evs) > 0 {
		d.After = evs[len(evs)-1].ID
	}
	for i := len(evs) - 1; i >= 0; i-- { // newest first
		d.Activities = append(d.Activities, evs[i])
	}
	s.render(w, "page", d)
}

// fleetsAt serves the fleets as they were at ?at (Unix milliseconds):
// the rewind.
func (s *Server) fleetsAt(w http.ResponseWriter, r *http.Request) {
	ms, err := strconv.ParseInt(r.URL.Query().Get("at"), 10, 64)
	if err != nil {
		http.Error(w, "at: give Unix milliseconds", http.StatusBadRequest)
		return
	}
	f := s.rec.at(time.UnixMilli(ms))
	if f == nil {
		http.Error(w, "nothing recorded yet", http.StatusNotFound)
		return
	}
	if err := s.encode(f); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Recorded-At", f.At.Format(time.RFC3339Nano))
	w.Write(f.html)
}

// instanceData is one instance opened from its tile.
type instanceData struct {
	Controls bool
	Row      api.InstanceRow
	Metrics  *api.InstanceMetrics
	Reason   string
	Console  string
}

// instance serves the panel a tile opens: identity, metrics, console.
func (s *Server) instance(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	rows, err := s.src.Instances(ctx)
	if err != nil {
		http.Error(w, "list instances: "+err.Error(), http.StatusBadGateway)
		return
	}
	d := instanceData{Controls: s.opts.Controls}
	found := false
	for _, row := range rows {
		if row.ID == id {
			d.Row, found = row, true
		}
	}
	if !found {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<div class="live"><p class="gone">%s is gone.</p></div>`, template.HTMLEscapeString(id))
		return
	}
	for _, svc := range s.src.Metrics().Services {
		for _, im := range svc.Instances {
			if im.ID == id {
				d.Metrics = &im
				d.Reason = im.Reason
			}
		}
	}
	if d.Console, err = s.src.ConsoleTail(ctx, id, consoleLines); err != nil {
		d.Console = "(console: " + err.Error() + ")"
	}
	s.render(w, "instance", d)
}

func (s *Server) render(w http.ResponseWriter, name string, data any) {
	var b bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		s.opts.Log.Warn("dashboard: render", "template", name, "err", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b.Bytes())
}
