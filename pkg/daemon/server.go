package daemon

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

// route is one API operation; routes lists them all, and the test holds
// the table against openapi.yaml.
type route struct {
	method, path string // path below /v1
	handle       func(d *Daemon, w http.ResponseWriter, r *http.Request)
}

func routes(shutdown func()) []route {
	return []route{
		{"GET", "/info", func(d *Daemon, w http.ResponseWriter, r *http.Request) { reply(w, d.Info(r.Context()), nil) }},
		{"GET", "/openapi.yaml", func(d *Daemon, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/yaml")
			w.Write(api.OpenAPI)
		}},
		{"GET", "/fleets", func(d *Daemon, w http.ResponseWriter, r *http.Request) { reply(w, d.Fleets(), nil) }},
		{"POST", "/fleets", func(d *Daemon, w http.ResponseWriter, r *http.Request) {
			var req api.ApplyRequest
			if decode(w, r, &req) {
				res, err := d.Apply(r.Context(), req)
				reply(w, res, err)
			}
		}},
		{"GET", "/fleets/{name}", func(d *Daemon, w http.ResponseWriter, r *http.Request) {
			st, err := d.Fleet(r.PathValue("name"))
			reply(w, st, err)
		}},
		{"DELETE", "/fleets/{name}", func(d *Daemon, w http.ResponseWriter, r *http.Request) {
			if grace, ok := graceOf(w, r); ok {
				reply(w, map[string]bool{"down": true}, d.Down(r.Context(), r.PathValue("name"), grace))
			}
		}},
		{"POST", "/fleets/{name}/scale", func(d *Daemon, w http.ResponseWriter, r *http.Request) {
			var req api.ScaleRequest
			if decode(w, r, &req) {
				st, err := d.Scale(r.Context(), r.PathValue("name"), req.Counts)
				reply(w, st, err)
			}
		}},
		{"GET", "/instances", func(d *Daemon, w http.ResponseWriter, r *http.Request) {
			rows, err := d.Instances(r.Context())
			reply(w, rows, err)
		}},
		{"GET", "/events", func(d *Daemon, w http.ResponseWriter, r *http.Request) { d.serveEvents(w, r) }},
		{"POST", "/instances", func(d *Daemon, w http.ResponseWriter, r *http.Request) {
			var req api.RunRequest
			if decode(w, r, &req) {
				row, err := d.RunInstance(r.Context(), req)
				reply(w, row, err)
			}
		}},
		{"DELETE", "/instances/{ref}", func(d *Daemon, w http.ResponseWriter, r *http.Request) {
			grace, ok := graceOf(w, r)
			if ok {
				removed, err := d.Remove(r.Context(), []string{r.PathValue("ref")}, grace)
				reply(w, removed, err)
			}
		}},
		{"POST", "/instances/{ref}/exec", func(d *Daemon, w http.ResponseWriter, r *http.Request) { d.serveExec(w, r) }},
		{"POST", "/instances/{ref}/protection", func(d *Daemon, w http.ResponseWriter, r *http.Request) {
			var req api.ProtectRequest
			if decode(w, r, &req) {
				reply(w, req, d.Protect(r.Context(), r.PathValue("ref"), req.Protected))
			}
		}},
		{"POST", "/instances/{ref}/faults", func(d *Daemon, w http.ResponseWriter, r *http.Request) {
			var req api.FaultRequest
			if decode(w, r, &req) {
				f, err := d.InjectFault(r.Context(), r.PathValue("ref"), req)
				reply(w, f, err)
			}
		}},
		{"POST", "/faults", func(d *Daemon, w http.ResponseWriter, r *http.Request) {
			var req api.FaultRequest
			if decode(w, r, &req) {
				f, err := d.InjectHostFault(r.Context(), req)
				reply(w, f, err)
			}
		}},
		{"GET", "/images", func(d *Daemon, w http.ResponseWriter, r *http.Request) {
			list, err := d.Images()
			reply(w, list, err)
		}},
		{"POST", "/images", func(d *Daemon, w http.ResponseWriter, r *http.Request) {
			var req api.BakeRequest
			if decode(w, r, &req) {
				res, err := d.Bake(r.Context(), req)
				reply(w, res, err)
			}
		}},
		{"DELETE", "/images/{ref}", func(d *Daemon, w http.ResponseWriter, r *http.Request) {
			img, err := d.RemoveImage(r.Context(), r.PathValue("ref"))
			reply(w, img, err)
		}},
		{"GET", "/stats", func(d *Daemon, w http.ResponseWriter, r *http.Request) {
			interval := time.Second
			if v := r.URL.Query().Get("interval"); v != "" {
				var err error
				if interval, err = time.ParseDuration(v); err != nil || interval <= 0 || interval > time.Minute {
					reply(w, nil, api.Invalid(errors.New("interval "+v+": give a duration up to 1m, like 1s")))
					return
				}
			}
			rows, err := d.Stats(r.Context(), r.URL.Query().Get("fleet"), interval)
			reply(w, rows, err)
		}},
		{"GET", "/logs", func(d *Daemon, w http.ResponseWriter, r *http.Request) { d.serveLogs(w, r) }},
		{"GET", "/metrics", func(d *Daemon, w http.ResponseWriter, r *http.Request) { reply(w, d.Metrics(), nil) }},
		{"GET", "/metrics/history", func(d *Daemon, w http.ResponseWriter, r *http.Request) {
			since := 10 * time.Minute
			if v := r.URL.Query().Get("since"); v != "" {
				var err error
				if since, err = time.ParseDuration(v); err != nil || since <= 0 {
					reply(w, nil, api.Invalid(errors.New("--since "+v+": give a duration, like 10m (an hour is kept)")))
					return
				}
			}
			h, err := d.History(r.URL.Query().Get("entity"), since)
			reply(w, h, err)
		}},
		{"POST", "/shutdown", func(d *Daemon, w http.ResponseWriter, r *http.Request) {
			reply(w, map[string]bool{"shutdown": true}, nil)
			go shutdown()
		}},
	}
}

// Handler is the API. token, when set, is required on every request
// (the TCP listener); the unix socket is guarded by its mode instead.
func (d *Daemon) Handler(token string, shutdown func()) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", d.Prometheus()) // Prometheus's path, unversioned
	for _, rt := range routes(shutdown) {
		mux.HandleFunc(rt.method+" /"+api.Version+rt.path, func(w http.ResponseWriter, r *http.Request) { rt.handle(d, w, r) })
	}
	if token == "" {
		return mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get(api.TokenHeader)), []byte(token)) != 1 {
			reply(w, nil, &api.Error{Kind: api.KindDenied, Message: "missing or wrong " + api.TokenHeader + "; read the token from the daemon's home (state/api-token)"})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// serveEvents streams the activity history as JSON lines: the past that
// matches, then (with follow=1) what happens until the client leaves.
func (d *Daemon) serveEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	filter := EventFilter{Fleet: q.Get("fleet"), Service: q.Get("service")}
	follow, _ := strconv.ParseBool(q.Get("follow"))
	var since time.Time
	if s := q.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			reply(w, nil, api.Invalid(errors.New("since "+s+": give an RFC 3339 time")))
			return
		}
		since = t
	}
	past, ch, cancel := d.events.subscribe()
	defer cancel()
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	flusher, _ := w.(http.Flusher)
	for _, ev := range past {
		if filter.match(ev) && ev.Time.After(since) {
			enc.Encode(ev)
		}
	}
	if flusher != nil {
		flusher.Flush()
	}
	if !follow {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case ev := <-ch:
			if !filter.match(ev) || !ev.Time.After(since) {
				continue
			}
			if enc.Encode(ev) != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
	}
}

// graceOf reads the grace query parameter (default: docker stop's 10s).
func graceOf(w http.ResponseWriter, r *http.Request) (time.Duration, bool) {
	g := r.URL.Query().Get("grace")
	if g == "" {
		return limits.DefaultStopTimeout, true
	}
	grace, err := time.ParseDuration(g)
	if err != nil || grace < 0 {
		reply(w, nil, api.Invalid(errors.New("grace "+g+": write it like 10s")))
		return 0, false
	}
	return grace, true
}

// serveLogs streams console logs as text.
func (d *Daemon) serveLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := LogsRequest{Ref: q.Get("ref"), Fleet: q.Get("fleet"), Tail: -1}
	if t := q.Get("tail"); t != "" && t != "all" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			reply(w, nil, api.Invalid(errors.New("--tail "+strconv.Quote(t)+": give a number of lines, e.g. --tail 50, or --tail all")))
			return
		}
		req.Tail = n
	}
	req.Follow, _ = strconv.ParseBool(q.Get("follow"))
	// Errors found before anything is written get a status; the
	// stream's later ones end it.
	pw := &pendingWriter{w: w}
	flusher, _ := w.(http.Flusher)
	err := d.Logs(r.Context(), req, pw, func() {
		if pw.started && flusher != nil {
			flusher.Flush()
		}
	})
	if err != nil && !pw.started {
		reply(w, nil, err)
	}
}

// pendingWriter sets the text content type on the first write.
type pendingWriter struct {
	w       http.ResponseWriter
	started bool
}

func (p *pendingWriter) Write(b []byte) (int, error) {
	if !p.started {
		p.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		p.started = true
	}
	return p.w.Write(b)
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		reply(w, nil, api.Invalid(errors.New("request body: "+err.Error())))
		return false
	}
	return true
}

func reply(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		e := api.Classify(err)
		w.WriteHeader(e.Status())
		json.NewEncoder(w).Encode(e)
		return
	}
	json.NewEncoder(w).Encode(v)
}

// Serve serves the API on ln until ctx ends, answering what is in flight
// (a down waits for its reply) before it returns.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		srv.Close()
	}()
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		<-done
		return nil
	}
	return err
}
