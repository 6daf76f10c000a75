package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vmfleet/vmfleet/pkg/cadence"
	"github.com/vmfleet/vmfleet/pkg/health"
)

// OpWatch (host to guest) runs a target's health checks inside the guest
// with health's own thresholds; the guest reports each change of state
// and, between changes, a heartbeat every Check.ReportEvery (see
// health.Watcher). A guest whose init predates it refuses the op, and the
// host falls back to OpProbe, one check per round trip.
const OpWatch Op = "watch"

// watchRequest starts a watch: the check, the service's port in the
// guest, and the state the host holds now (a target in service stays in
// service while the guest's checker takes over).
type watchRequest struct {
	Check health.Check `json:"check"`
	Port  int          `json:"port"`
	From  health.State `json:"from"`
}

// watchReport is one line from the guest.
type watchReport struct {
	State  health.State `json:"state"`
	Reason string       `json:"reason,omitempty"`
}

// Watch runs check against port inside the guest until ctx ends or the
// watch breaks, passing each reported state to report (health.Watcher);
// a watch unheard for silence breaks with health.ErrSilent.
func (l *Link) Watch(ctx context.Context, check health.Check, silence time.Duration, port int, from health.State, report func(health.State, string)) error {
	st, err := l.Open(ctx, Header{Op: OpWatch})
	if err != nil {
		return err
	}
	defer st.Close()
	stop := context.AfterFunc(ctx, func() { st.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	b, _ := json.Marshal(watchRequest{Check: check, Port: port, From: from})
	if _, err := st.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("start a health check watch: %w", err)
	}
	st.SetReadDeadline(time.Now().Add(silence))
	if err := readReply(st); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		if strings.Contains(err.Error(), "serves no") {
			return fmt.Errorf("%w: %v", health.ErrCannotWatch, err)
		}
		return fmt.Errorf("start a health check watch: %w", silent(err, silence))
	}
	r := bufio.NewReaderSize(st, maxLine)
	for {
		st.SetReadDeadline(time.Now().Add(silence))
		line, err := r.ReadSlice('\n')
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return silent(err, silence)
		}
		var rep watchReport
		if err := json.Unmarshal(line, &rep); err != nil {
			return fmt.Errorf("health report %q: %w", line, err)
		}
		report(rep.State, rep.Reason)
	}
}

// silent names a read that timed out for what it means.
func silent(err error, d time.Duration) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w from inside the guest for %v", health.ErrSilent, d)
	}
	return err
}

// serveWatch runs the host's watch inside the guest until the host ends
// the stream.
func serveWatch(ctx context.Context, st net.Conn) {
	defer st.Close()
	var req watchRequest
	if !readRequest(st, "watch", &req) {
		return
	}
	var mu sync.Mutex // the checker and the heartbeat both write
	send := func(s health.State, reason string) error {
		b, _ := json.Marshal(watchReport{State: s, Reason: reason})
		mu.Lock()
		defer mu.Unlock()
		_, err := st.Write(append(b, '\n'))
		return err
	}
	ch, err := health.NewChecker(net.JoinHostPort("127.0.0.1", strconv.Itoa(req.Port)), health.Options{
		Check: req.Check, Initial: req.From,
		OnTransition: func(tr health.Transition) { send(tr.To, tr.Reason) },
	})
	if err := reply(st, err); err != nil || ch == nil {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // the host ends the watch by closing the stream
		st.Read(make([]byte, 1))
		cancel()
	}()
	go ch.Run(ctx)
	// Heartbeats on the grid, so the daemon hears its guests together,
	// and never more than a period apart, counted from the reply: the
	// host allows a period and one interval.
	every := req.Check.ReportEvery()
	untilBeat := func() time.Duration { return time.Until(cadence.After(time.Now(), every)) }
	tick := time.NewTimer(untilBeat())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			tick.Reset(untilBeat())
			if send(ch.State(), "") != nil {
				return
			}
		}
	}
}

// readRequest reads a stream's one-line JSON request into v, waiting at
// most 10 s for it; a bad one is answered with why. False: nothing more
// to do on the stream.
func readRequest(st net.Conn, what string, v any) bool {
	st.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := readLine(st)
	st.SetReadDeadline(time.Time{})
	if err != nil {
		return false
	}
	if err := json.Unmarshal([]byte(line), v); err != nil {
		reply(st, fmt.Errorf("bad %s request: %w", what, err))
		return false
	}
	return true
}
