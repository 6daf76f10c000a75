package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/vmfleet/vmfleet/pkg/fleetfile"
)

// The controller answers on a unix socket in the fleet's state directory,
// so `ps`, `scale` and `down` reach a detached controller. The socket's
// directory is private to the user who runs it.

// SocketName is the socket file in a fleet's state directory.
const SocketName = "controller.sock"

// Server is the controller's API over a unix socket.
type Server struct {
	c       *Controller
	closing chan struct{} // ends event streams at shutdown
	mu      sync.Mutex
	events  []Event // the latest events, for clients that arrive late
	subs    map[chan Event]struct{}
}

// NewServer returns the API for c. Feed it events with Publish.
func NewServer(c *Controller) *Server {
	return &Server{c: c, subs: map[chan Event]struct{}{}, closing: make(chan struct{})}
}

// Publish records an event and passes it to streaming clients.
func (s *Server) Publish(ev Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, ev)
	if len(s.events) > 500 {
		s.events = s.events[len(s.events)-500:]
	}
	for ch := range s.subs {
		select {
		case ch <- ev:
		default: // a slow reader misses events rather than stall the fleet
		}
	}
}

// Serve listens on the socket at path until ctx ends, then removes it.
func (s *Server) Serve(ctx context.Context, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	_ = os.Remove(path) // a socket left by a controller that was killed
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("controller socket: %w", err)
	}
	srv := &http.Server{Handler: s.handler(), ReadHeaderTimeout: 5 * time.Second}
	shutdown := make(chan struct{})
	go func() {
		<-ctx.Done()
		// Answer what is in flight (a `down` waits for its reply), end
		// the event streams, then stop.
		close(s.closing)
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		srv.Close()
		close(shutdown)
	}()
	err = srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		<-shutdown
		err = nil
	}
	os.Remove(path)
	return err
}

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, s.c.Status())
	})
	mux.HandleFunc("POST /v1/scale", func(w http.ResponseWriter, r *http.Request) {
		var req map[string]int
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for svc, n := range req {
			if err := s.c.Scale(r.Context(), svc, n); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		writeJSON(w, s.c.Status())
	})
	mux.HandleFunc("POST /v1/reload", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			File string `json:"file"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f, err := fleetfile.Load(req.File)
		if err == nil {
			err = s.c.Reload(r.Context(), f)
		}
		switch {
		case errors.Is(err, ErrRestartNeeded):
			http.Error(w, err.Error(), http.StatusConflict)
		case err != nil:
			http.Error(w, err.Error(), http.StatusBadRequest)
		default:
			writeJSON(w, s.c.Status())
		}
	})
	mux.HandleFunc("POST /v1/down", func(w http.ResponseWriter, r *http.Request) {
		if err := s.c.Down(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, map[string]bool{"down": true})
	})
	mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, r *http.Request) {
		ch := make(chan Event, 64)
		s.mu.Lock()
		past := append([]Event(nil), s.events...)
		s.subs[ch] = struct{}{}
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			delete(s.subs, ch)
			s.mu.Unlock()
		}()
		enc := json.NewEncoder(w)
		flusher, _ := w.(http.Flusher)
		for _, ev := range past {
			enc.Encode(ev)
		}
		if flusher != nil {
			flusher.Flush()
		}
		for {
			select {
			case <-r.Context().Done():
				return
			case <-s.closing:
				return
			case ev := <-ch:
				if enc.Encode(ev) != nil {
					return
				}
				if flusher != nil {
					flusher.Flush()
				}
			}
		}
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// Client talks to a controller's socket.
type Client struct {
	path string
	http *http.Client
}

// ErrNoController means no controller answers on the socket.
var ErrNoController = errors.New("no controller is running for this fleet")

// Dial returns a client for the socket at path, checking that a
// controller answers.
func Dial(ctx context.Context, path string) (*Client, error) {
	c := &Client{path: path, http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}}
	if _, err := c.Status(ctx); err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNoController, err)
	}
	return c, nil
}

func (c *Client) do(ctx context.Context, method, path string, body any, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://controller"+path, r)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		return statusError{resp.StatusCode, string(bytes.TrimSpace(msg))}
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

// statusError is an error the controller answered with.
type statusError struct {
	code int
	msg  string
}

func (e statusError) Error() string { return e.msg }

// Status fetches the fleet's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.do(ctx, http.MethodGet, "/v1/status", nil, &st)
	return st, err
}

// Scale sets desired counts.
func (c *Client) Scale(ctx context.Context, counts map[string]int) (Status, error) {
	var st Status
	err := c.do(ctx, http.MethodPost, "/v1/scale", counts, &st)
	return st, err
}

// Reload asks the controller to apply the fleet file at path.
func (c *Client) Reload(ctx context.Context, path string) error {
	err := c.do(ctx, http.MethodPost, "/v1/reload", map[string]string{"file": path}, nil)
	var se statusError
	if errors.As(err, &se) && se.code == http.StatusConflict {
		return fmt.Errorf("%w: %s", ErrRestartNeeded, se.msg)
	}
	return err
}

// Down asks the controller to drain and remove the fleet, and waits.
func (c *Client) Down(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/down", nil, nil)
}

// Events streams events (the recent past first) until ctx ends.
func (c *Client) Events(ctx context.Context, each func(Event)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://controller/v1/events", nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var ev Event
		if err := dec.Decode(&ev); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		each(ev)
	}
}
