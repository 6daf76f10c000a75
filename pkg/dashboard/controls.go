package dashboard

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/limits"
	traffic "github.com/vmfleet/vmfleet/pkg/load"
)

// maxRate is the load slider's end.
const maxRate = float64(limits.MaxLoadRate)

// control wraps a control's handler: refused unless the daemon runs
// with controls on; its result, or what is wrong, is a line the page
// shows.
func (s *Server) control(do func(r *http.Request) (string, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if !s.opts.Controls {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<p class="error">The page is read-only: start the daemon with --dashboard-controls to use its controls.</p>`)
			return
		}
		if err := r.ParseForm(); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `<p class="error">%s</p>`, template.HTMLEscapeString(err.Error()))
			return
		}
		msg, err := do(r)
		if err != nil {
			status := http.StatusBadRequest
			var ae *api.Error
			if errors.As(err, &ae) {
				status = ae.Status()
			}
			w.WriteHeader(status)
			fmt.Fprintf(w, `<p class="error">%s</p>`, template.HTMLEscapeString(err.Error()))
			return
		}
		s.opts.Log.Info("dashboard: control", "path", r.URL.Path, "result", msg)
		fmt.Fprintf(w, `<p class="done">%s</p>`, template.HTMLEscapeString(msg))
	}
}

// scale sets a service's desired count: fleet, service, desired.
func (s *Server) scale(r *http.Request) (string, error) {
	fleet, svc := r.FormValue("fleet"), r.FormValue("service")
	n, err := strconv.Atoi(r.FormValue("desired"))
	if err != nil {
		return "", fmt.Errorf("scale: desired %q is not a number", r.FormValue("desired"))
	}
	if _, err := s.src.Scale(r.Context(), fleet, map[string]int{svc: n}); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s/%s: desired %d", fleet, svc, n), nil
}

// fault injects a fault: instance (none for the host's), action,
// seconds (for those undone).
func (s *Server) fault(r *http.Request) (string, error) {
	req := api.FaultRequest{Action: r.FormValue("action")}
	if v := r.FormValue("seconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return "", fmt.Errorf("fault: seconds %q is not a number", v)
		}
		req.Seconds = n
	}
	var f api.Fault
	var err error
	if req.Action == api.FaultLibvirtd {
		f, err = s.src.InjectHostFault(r.Context(), req)
		f.Instance = "host"
	} else {
		f, err = s.src.InjectFault(r.Context(), r.FormValue("instance"), req)
	}
	if err != nil {
		return "", err
	}
	if f.Until != nil {
		return fmt.Sprintf("%s: %s until %s", f.Instance, f.Action, f.Until.Local().Format(time.TimeOnly)), nil
	}
	return fmt.Sprintf("%s: %s", f.Instance, f.Action), nil
}

// startLoad sends load to a service's balancer: fleet, service, rate
// (per second), seconds.
func (s *Server) startLoad(r *http.Request) (string, error) {
	fleet, svc := r.FormValue("fleet"), r.FormValue("service")
	rate, err := strconv.ParseFloat(r.FormValue("rate"), 64)
	if err != nil {
		return "", fmt.Errorf("load: rate %q is not a number", r.FormValue("rate"))
	}
	secs, err := strconv.Atoi(r.FormValue("seconds"))
	if err != nil {
		return "", fmt.Errorf("load: seconds %q is not a number", r.FormValue("seconds"))
	}
	sv, _, ok := s.service(fleet, svc)
	if !ok || sv.Listen == "" {
		return "", api.NotFound(fmt.Errorf("load: no service %s/%s with a balancer listening", fleet, svc))
	}
	// Enough in flight for the rate at a slow guest's 50 ms a request.
	conc := min(limits.MaxLoadConcurrency, max(limits.DefaultLoadConcurrency, int(rate/20)))
	o := traffic.Options{Addr: sv.Listen, Rate: rate, For: time.Duration(secs) * time.Second, Concurrency: conc}
	if err := s.loads.start(sv.Key(), o); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s: %g/s for %ds", sv.Key(), rate, secs), nil
}

// stopLoad ends a service's load: fleet, service.
func (s *Server) stopLoad(r *http.Request) (string, error) {
	key := r.FormValue("fleet") + "/" + r.FormValue("service")
	if !s.loads.stop(key) {
		return "", api.NotFound(fmt.Errorf("load: none runs on %s", key))
	}
	return key + ": load stopped", nil
}
