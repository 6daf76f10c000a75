package dashboard

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// keepAlive is how often an idle stream sends a comment, so proxies and
// the browser see it alive.
const keepAlive = 15 * time.Second

// stream is the page's server-sent events: "fleets" (the groups and
// tiles, whenever they change), "point" (the charts' newest second) and
// "activity" (each event of the history, with its ID, so a browser
// reconnecting with Last-Event-ID, or a page asking ?after=, gets every
// event it missed and none twice).
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	after, err := lastEventID(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	wake, cancel := s.src.Follow()
	defer cancel()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "retry: 1000\n\n")

	var sent *frame
	ping := time.NewTicker(keepAlive)
	defer ping.Stop()
	for {
		f, changed := s.rec.latest()
		if f != nil && f != sent {
			if err := s.sendFrame(bw, f); err != nil {
				s.opts.Log.Warn("dashboard: render the fleets", "err", err)
				return
			}
			sent = f
		}
		for _, ev := range s.src.ActivitiesAfter(after, activitiesShown) {
			if err := s.sendActivity(bw, ev); err != nil {
				return
			}
			after = ev.ID
		}
		if bw.Flush() != nil {
			return
		}
		flusher.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case <-changed:
		case <-wake:
		case <-ping.C:
			fmt.Fprintf(bw, ": alive\n\n")
		}
	}
}

// lastEventID is where a stream resumes: the browser's Last-Event-ID on
// a reconnect, else the page's ?after (the newest event it was served).
func lastEventID(r *http.Request) (int64, error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("after")
	}
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 0 {
		return 0, fmt.Errorf("event id %q: want the number of the last event seen", v)
	}
	return id, nil
}

func (s *Server) sendFrame(w *bufio.Writer, f *frame) error {
	if err := s.encode(f); err != nil {
		return err
	}
	if err := event(w, "fleets", "", f.html); err != nil {
		return err
	}
	return event(w, "point", "", f.point)
}

func (s *Server) sendActivity(w *bufio.Writer, ev api.Event) error {
	var b bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&b, "activity", ev); err != nil {
		return err
	}
	return event(w, "activity", strconv.FormatInt(ev.ID, 10), b.Bytes())
}

// encode renders a frame's fleets and chart point once, for every
// stream.
func (s *Server) encode(f *frame) error {
	f.once.Do(func() {
		var b bytes.Buffer
		if f.err = s.tmpl.ExecuteTemplate(&b, "fleets", fleetsData{View: f.View, Controls: s.opts.Controls}); f.err != nil {
			return
		}
		f.html = b.Bytes()
		f.point, f.err = json.Marshal(pointOf(f))
	})
	return f.err
}

// fleetsData is what the fleets template draws.
type fleetsData struct {
	View     view
	Controls bool
}

// event writes one server-sent event; each line of data gets its own
// data field, as the format wants.
func event(w *bufio.Writer, name, id string, data []byte) error {
	fmt.Fprintf(w, "event: %s\n", name)
	if id != "" {
		fmt.Fprintf(w, "id: %s\n", id)
	}
	for line := range bytes.Lines(data) {
		w.WriteString("data: ")
		w.Write(bytes.TrimRight(line, "\r\n"))
		w.WriteByte('\n')
	}
	_, err := w.WriteString("\n")
	return err
}
