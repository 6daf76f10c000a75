package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
	"github.com/vmfleet/vmfleet/pkg/health"
)

type report struct {
	state  health.State
	reason string
}

// watch runs l.Watch in the background and returns its reports and, once
// it ends, its error.
func watch(t *testing.T, l *Link, check health.Check, port int, from health.State) (<-chan report, <-chan error) {
	t.Helper()
	reports, ended := make(chan report, 1000), make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		ended <- l.Watch(ctx, check, check.SilenceLimit(0), port, from, func(s health.State, reason string) { reports <- report{s, reason} })
	}()
	return reports, ended
}

func nextReport(t *testing.T, reports <-chan report) report {
	t.Helper()
	select {
	case r := <-reports:
		return r
	case <-time.After(waitFor):
		t.Fatal("no report from the guest")
		return report{}
	}
}

func TestAWatchReportsChangesAndHeartbeatsNotEveryCheck(t *testing.T) {
	l, _, _ := start(t)
	var checks atomic.Int64
	var broken atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		checks.Add(1)
		if broken.Load() {
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	check := health.Check{Type: health.TypeHTTP, Path: "/", Interval: 50 * time.Millisecond, Timeout: 40 * time.Millisecond,
		HealthyThreshold: 2, UnhealthyThreshold: 3}
	reports, _ := watch(t, l, check, srv.Listener.Addr().(*net.TCPAddr).Port, health.Initial)

	r := nextReport(t, reports)
	for r.state == health.Initial && r.reason == "" {
		r = nextReport(t, reports) // a heartbeat before the threshold's checks ran
	}
	if r.state != health.Healthy || checks.Load() < 2 {
		t.Fatalf("first change %+v after %d checks, want healthy after the threshold's 2", r, checks.Load())
	}
	// While nothing changes the guest says so every ReportEvery (3
	// intervals), not after each check.
	time.Sleep(20 * check.ReportEvery())
	ran, heard := checks.Load(), len(reports)
	for range heard {
		if r := <-reports; r.state != health.Healthy {
			t.Fatalf("heartbeat %+v, want healthy", r)
		}
	}
	if heard < 10 || heard > int(ran)/2 {
		t.Fatalf("%d reports for %d checks in 20 heartbeat periods, want about 20 and far fewer than checks", heard, ran)
	}
	broken.Store(true)
	for {
		r := nextReport(t, reports)
		if r.state == health.Healthy {
			continue // a heartbeat before the third failure
		}
		if r.state != health.Unhealthy || r.reason == "" {
			t.Fatalf("report %+v, want unhealthy with the failed check's reason", r)
		}
		break
	}
}

func TestAWatchStartsFromTheHostsState(t *testing.T) {
	l, _, _ := start(t)
	srv := httptest.NewServer(http.NotFoundHandler()) // accepts and waits, as a service does
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	check := health.Check{Type: health.TypeTCP, Interval: 50 * time.Millisecond, Timeout: 40 * time.Millisecond,
		HealthyThreshold: 2, UnhealthyThreshold: 2}
	for _, tc := range []struct {
		from       health.State
		transition bool
	}{{health.Initial, true}, {health.Healthy, false}} {
		reports, _ := watch(t, l, check, port, tc.from)
		// From initial the guest's checker turns healthy (a transition,
		// with its reason); from healthy (an adopted target) it has
		// nothing to change, and its first report is a heartbeat.
		r := nextReport(t, reports)
		for r.state == health.Initial && r.reason == "" {
			r = nextReport(t, reports) // a heartbeat before the threshold's checks ran
		}
		if r.state != health.Healthy || (r.reason != "") != tc.transition {
			t.Fatalf("from %v the first report is %+v, want healthy, a transition: %v", tc.from, r, tc.transition)
		}
	}
}

// oldGuest answers every stream the way a guest's init from before a
// stream op does, or, with silent, accepts a watch and never reports.
func oldGuest(t *testing.T, q *qemu, silent bool) {
	t.Helper()
	go func() {
		port, err := q.open()
		if err != nil {
			return
		}
		sess, err := yamux.Server(port, sessionConfig())
		if err != nil {
			return
		}
		t.Cleanup(func() { sess.Close() })
		for {
			st, err := sess.AcceptStream()
			if err != nil {
				return
			}
			h, _ := readHeader(st)
			if silent {
				readLine(st)
				reply(st, nil)
				continue
			}
			reply(st, fmt.Errorf("the guest serves no %q streams", h.Op))
			st.Close()
		}
	}()
}

func TestAGuestWithoutWatchesIsReportedAsSuch(t *testing.T) {
	q := newQEMU(t)
	oldGuest(t, q, false)
	l := OpenLink(q.socket, LinkOptions{})
	t.Cleanup(l.Close)
	_, ended := watch(t, l, health.Check{Interval: time.Second, Timeout: time.Second / 2, UnhealthyThreshold: 2}, 80, health.Initial)
	select {
	case err := <-ended:
		if !errors.Is(err, health.ErrCannotWatch) {
			t.Fatalf("watch of an old guest: %v, want ErrCannotWatch", err)
		}
	case <-time.After(waitFor):
		t.Fatal("the watch of an old guest did not end")
	}
}

func TestAWatchThatHearsNothingEndsSilent(t *testing.T) {
	q := newQEMU(t)
	oldGuest(t, q, true)
	l := OpenLink(q.socket, LinkOptions{})
	t.Cleanup(l.Close)
	check := health.Check{Interval: 50 * time.Millisecond, Timeout: 40 * time.Millisecond, UnhealthyThreshold: 2}
	began := time.Now()
	_, ended := watch(t, l, check, 80, health.Healthy)
	select {
	case err := <-ended:
		if !errors.Is(err, health.ErrSilent) {
			t.Fatalf("watch of a guest that says nothing: %v, want ErrSilent", err)
		}
		if waited := time.Since(began); waited < check.SilenceLimit(0) {
			t.Fatalf("gave up after %v, before the silence limit %v", waited, check.SilenceLimit(0))
		}
	case <-time.After(waitFor):
		t.Fatal("the watch of a silent guest did not end")
	}
}

// A watch started late in a heartbeat period (here 0.6 of it) is heard
// again within the period, not on the grid point after next: a check with
// a long interval and a high threshold (10 s and 10, so a heartbeat every
// 100 s) was otherwise found silent and its healthy target replaced.
func TestAWatchIsHeardWithinAPeriodOfItsStartWhateverThePhase(t *testing.T) {
	l, _, _ := start(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	check := health.Check{Type: health.TypeTCP, Interval: 100 * time.Millisecond, Timeout: 80 * time.Millisecond,
		HealthyThreshold: 2, UnhealthyThreshold: 10}
	every := check.ReportEvery()
	phase := time.Now().Truncate(every).Add(every + every*6/10)
	time.Sleep(time.Until(phase))
	reports, ended := watch(t, l, check, srv.Listener.Addr().(*net.TCPAddr).Port, health.Healthy)
	deadline := time.After(3 * every)
	heard := 0
	for {
		select {
		case err := <-ended:
			t.Fatalf("the watch ended after %d heartbeats: %v", heard, err)
		case r := <-reports:
			if r.state != health.Healthy {
				t.Fatalf("report %+v, want healthy", r)
			}
			heard++
		case <-deadline:
			if heard < 2 {
				t.Fatalf("%d heartbeats in 3 periods", heard)
			}
			return
		}
	}
}
