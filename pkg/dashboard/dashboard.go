// Package dashboard is the daemon's web page: every fleet's groups and
// instances live over server-sent events, the activity history, charts of
// the last minutes, a rewind of the recorded state, and, when the daemon
// allows them, controls (scale, faults, load). No build step: templates
// and files are embedded, the JavaScript libraries vendored from npm.
package dashboard

import (
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// State is what the controllers publish now.
type State interface {
	Statuses() []api.Fleet
	Metrics() api.Metrics
}

// Activities is the activity history and a wake-up for what follows.
type Activities interface {
	ActivitiesAfter(id int64, limit int) []api.Event
	Follow() (<-chan api.Event, func())
}

// Inspector answers about one instance or service on demand.
type Inspector interface {
	Instances(ctx context.Context) ([]api.InstanceRow, error)
	ConsoleTail(ctx context.Context, id string, lines int) (string, error)
	History(entity string, since time.Duration) ([]api.Series, error)
}

// Controls are what the page's buttons do.
type Controls interface {
	Scale(ctx context.Context, fleet string, counts map[string]int) (api.Fleet, error)
	InjectFault(ctx context.Context, ref string, req api.FaultRequest) (api.Fault, error)
	InjectHostFault(ctx context.Context, req api.FaultRequest) (api.Fault, error)
}

// Source is the daemon, as the page needs it.
type Source interface {
	State
	Activities
	Inspector
	Controls
}

// Options are the page's settings.
type Options struct {
	// Token is what the URL vmfleet dashboard prints carries; it becomes
	// a cookie, and every request without one is refused.
	Token string
	// Controls lets the page scale, inject faults and send load; off, it
	// is read-only (the default, for shared hosts).
	Controls bool
	Log      *slog.Logger
}

// How the page samples and keeps the fleet's state.
const (
	// sampleEvery bounds how late a change reaches the page.
	sampleEvery = 250 * time.Millisecond
	// rewindWindow is how far back the rewind slider goes, at one
	// recorded state a second at most.
	rewindWindow = 10 * time.Minute
	// chartWindow is how much history the charts show.
	chartWindow = 15 * time.Minute
	// activitiesShown is how many activities the page lists.
	activitiesShown = 200
	// consoleLines is how much of an instance's console the page shows.
	consoleLines = 40
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Server serves the page; Run keeps its record of the fleet.
type Server struct {
	src   Source
	opts  Options
	tmpl  *template.Template
	rec   *recorder
	loads *loads
	auth  auth
	// done is closed when Run returns: open streams end then, so the
	// daemon's shutdown does not wait on pages left open.
	done chan struct{}
}

// New makes the page's server over src.
func New(src Source, o Options) (*Server, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	t, err := template.New("").Funcs(funcs).ParseFS(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	s := &Server{src: src, opts: o, tmpl: t, auth: newAuth(o.Token), done: make(chan struct{})}
	s.loads = newLoads(o.Log)
	s.rec = newRecorder(rewindWindow)
	return s, nil
}

// Run records the fleet's state until ctx ends, and stops the page's
// loads then.
func (s *Server) Run(ctx context.Context) {
	defer close(s.done)
	defer s.loads.stopAll()
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	gone := newGhosts()
	for {
		now := time.Now()
		s.rec.put(now, gone.apply(now, buildView(s.src.Statuses(), s.src.Metrics(), s.loads.reports())))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Handler is the page and its endpoints, every one behind the token.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFiles, "static")
	files := http.FileServerFS(static)
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheable(files)))
	mux.HandleFunc("GET /{$}", s.page)
	mux.HandleFunc("GET /events", s.stream)
	mux.HandleFunc("GET /fleets", s.fleetsAt)
	mux.HandleFunc("GET /instances/{id}", s.instance)
	mux.HandleFunc("GET /charts", s.charts)
	mux.HandleFunc("POST /scale", s.control(s.scale))
	mux.HandleFunc("POST /fault", s.control(s.fault))
	mux.HandleFunc("POST /load", s.control(s.startLoad))
	mux.HandleFunc("POST /load/stop", s.control(s.stopLoad))
	return s.auth.guard(secure(mux))
}

// secure sets the headers that keep the page its own: no framing, no
// scripts but its files.
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// cacheable lets the browser keep the vendored files for a day.
func cacheable(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, max-age=86400")
		next.ServeHTTP(w, r)
	})
}
