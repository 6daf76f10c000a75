package health

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitFor is how long a test waits for something that should happen within
// a few milliseconds; it only bounds a hang, it asserts nothing about speed.
const waitFor = 10 * time.Second

// scriptedTarget answers its n-th request (from 1) with statuses[n-1], and
// with the last status once the script runs out.
type scriptedTarget struct {
	statuses []int
	served   atomic.Int64
	srv      *httptest.Server
}

func newScriptedTarget(t *testing.T, statuses ...int) *scriptedTarget {
	st := &scriptedTarget{statuses: statuses}
	st.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(st.served.Add(1))
		w.WriteHeader(st.statuses[min(n, len(st.statuses))-1])
	}))
	t.Cleanup(st.srv.Close)
	return st
}

func (st *scriptedTarget) addr() string { return st.srv.Listener.Addr().String() }

// seen is a transition together with the number of probes the target had
// answered when it was reported.
type seen struct {
	Transition
	probes int
}

// runChecker runs a checker until the test ends and returns its transitions.
// Probes are sequential and the callback runs before the next one starts, so
// the probe count read in the callback is exact.
func runChecker(t *testing.T, target string, check Check, probes func() int) <-chan seen {
	t.Helper()
	events := make(chan seen, 100)
	c, err := NewChecker(target, Options{Check: check, OnTransition: func(tr Transition) {
		events <- seen{tr, probes()}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if c.State() != Initial {
		t.Fatalf("new checker in state %v, want initial", c.State())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return events
}

func next(t *testing.T, events <-chan seen) seen {
	t.Helper()
	select {
	case ev := <-events:
		return ev
	case <-time.After(waitFor):
		t.Fatal("no health transition reported")
		return seen{}
	}
}

func TestCheckerCountsConsecutiveResultsLikeELB(t *testing.T) {
	type want struct {
		from, to State
		atProbe  int
	}
	const ok, fail = 200, 500
	tests := []struct {
		name    string
		script  []int
		expects []want
	}{
		{
			name:    "new target becomes healthy only after HealthyThreshold consecutive successes",
			script:  []int{ok, ok, fail, ok, ok, ok},
			expects: []want{{Initial, Healthy, 6}},
		},
		{
			name:    "new target that keeps failing becomes unhealthy after UnhealthyThreshold failures",
			script:  []int{fail, ok, fail, fail},
			expects: []want{{Initial, Unhealthy, 4}},
		},
		{
			name:    "healthy target becomes unhealthy only after UnhealthyThreshold consecutive failures",
			script:  []int{ok, ok, ok, fail, ok, fail, fail},
			expects: []want{{Initial, Healthy, 3}, {Healthy, Unhealthy, 7}},
		},
		{
			name:   "unhealthy target returns after HealthyThreshold consecutive successes",
			script: []int{ok, ok, ok, fail, fail, ok, ok, fail, ok, ok, ok},
			expects: []want{
				{Initial, Healthy, 3}, {Healthy, Unhealthy, 5}, {Unhealthy, Healthy, 11},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target := newScriptedTarget(t, tt.script...)
			check := Check{Type: TypeHTTP, Path: "/", Interval: time.Millisecond, Timeout: waitFor,
				HealthyThreshold: 3, UnhealthyThreshold: 2}
			events := runChecker(t, target.addr(), check, func() int { return int(target.served.Load()) })
			for _, w := range tt.expects {
				ev := next(t, events)
				if ev.From != w.from || ev.To != w.to || ev.probes != w.atProbe {
					t.Fatalf("got %v -> %v after probe %d (%q), want %v -> %v after probe %d",
						ev.From, ev.To, ev.probes, ev.Reason, w.from, w.to, w.atProbe)
				}
				if ev.Target != target.addr() {
					t.Errorf("transition names target %q, want %q", ev.Target, target.addr())
				}
				if w.to == Unhealthy && !strings.Contains(ev.Reason, "status 500") {
					t.Errorf("reason %q does not carry the last error", ev.Reason)
				}
			}
			// The script now repeats its last answer: a few more probes
			// must not change anything.
			last := tt.expects[len(tt.expects)-1].atProbe
			deadline := time.Now().Add(waitFor)
			for target.served.Load() < int64(last+5) && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			select {
			case ev := <-events:
				t.Fatalf("unexpected transition %v -> %v after probe %d", ev.From, ev.To, ev.probes)
			default:
			}
		})
	}
}

func TestCheckerProbesImmediatelyNotAfterFirstInterval(t *testing.T) {
	target := newScriptedTarget(t, 200)
	check := Check{Type: TypeHTTP, Path: "/", Interval: time.Hour, Timeout: waitFor,
		HealthyThreshold: 1, UnhealthyThreshold: 1}
	events := runChecker(t, target.addr(), check, func() int { return int(target.served.Load()) })
	if ev := next(t, events); ev.To != Healthy || ev.probes != 1 {
		t.Fatalf("got %v after %d probes, want healthy after the first", ev.To, ev.probes)
	}
}

func TestTCPCheckerMarksRefusingTargetUnhealthy(t *testing.T) {
	addr := refusingAddr(t)
	check := Check{Type: TypeTCP, Interval: time.Millisecond, Timeout: waitFor,
		HealthyThreshold: 2, UnhealthyThreshold: 2}
	events := runChecker(t, addr, check, func() int { return 0 })
	ev := next(t, events)
	if ev.From != Initial || ev.To != Unhealthy {
		t.Fatalf("refusing target: got %v -> %v, want initial -> unhealthy", ev.From, ev.To)
	}
	if !strings.Contains(ev.Reason, "refused") {
		t.Errorf("reason %q does not say the connection was refused", ev.Reason)
	}
}

func TestTCPCheckerFollowsTargetThatStopsListening(t *testing.T) {
	ln := listen(t)
	check := Check{Type: TypeTCP, Interval: time.Millisecond, Timeout: waitFor,
		HealthyThreshold: 2, UnhealthyThreshold: 2}
	events := runChecker(t, ln.Addr().String(), check, func() int { return 0 })
	if ev := next(t, events); ev.From != Initial || ev.To != Healthy {
		t.Fatalf("listening target: got %v -> %v, want initial -> healthy", ev.From, ev.To)
	}
	stopListening(t, ln)
	if ev := next(t, events); ev.From != Healthy || ev.To != Unhealthy {
		t.Fatalf("after it stopped listening: got %v -> %v, want healthy -> unhealthy", ev.From, ev.To)
	}
}

func TestTCPCheckerMarksTargetThatAcceptsThenHangsUpUnhealthy(t *testing.T) {
	// QEMU's user-mode networking on a forwarded port with nothing
	// listening in the guest.
	ln := listenWith(t, func(c net.Conn) { c.Close() })
	check := Check{Type: TypeTCP, Interval: time.Millisecond, Timeout: waitFor,
		HealthyThreshold: 1, UnhealthyThreshold: 2}
	events := runChecker(t, ln.Addr().String(), check, func() int { return 0 })
	ev := next(t, events)
	if ev.From != Initial || ev.To != Unhealthy {
		t.Fatalf("target that accepts then hangs up: got %v -> %v, want initial -> unhealthy", ev.From, ev.To)
	}
	if !strings.Contains(ev.Reason, "accepted then closed") {
		t.Errorf("reason %q does not say the target hung up after accepting", ev.Reason)
	}
}

func TestCheckerStopsWhenContextIsCancelled(t *testing.T) {
	target := newScriptedTarget(t, 200)
	c, err := NewChecker(target.addr(), Options{Check: Check{Type: TypeHTTP, Path: "/",
		Interval: time.Millisecond, Timeout: waitFor, HealthyThreshold: 1, UnhealthyThreshold: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	for target.served.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(waitFor):
		t.Fatal("Run did not return after cancel")
	}
	if c.State() != Healthy {
		t.Fatalf("state after stop = %v, want the last known state (healthy)", c.State())
	}
}

func TestProbeCutShortByCancelIsNotCountedAsFailure(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		arrived <- struct{}{}
		<-release
	}))
	defer srv.Close()
	defer close(release)
	var reported atomic.Int64
	c, err := NewChecker(srv.Listener.Addr().String(), Options{
		Check: Check{Type: TypeHTTP, Path: "/", Interval: time.Hour, Timeout: waitFor,
			HealthyThreshold: 1, UnhealthyThreshold: 1},
		OnTransition: func(Transition) { reported.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	select {
	case <-arrived:
	case <-time.After(waitFor):
		t.Fatal("first probe never arrived")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(waitFor):
		t.Fatal("Run did not return after cancel")
	}
	if c.State() != Initial || reported.Load() != 0 {
		t.Fatalf("cancelled probe moved the target to %v (%d transitions)", c.State(), reported.Load())
	}
}

func TestNewCheckerRejectsInvalidCheck(t *testing.T) {
	_, err := NewChecker("127.0.0.1:1", Options{Check: Check{Type: TypeTCP}})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("NewChecker with zero interval: err = %v, want an error naming the target", err)
	}
}

func TestStateNames(t *testing.T) {
	for s, want := range map[State]string{Initial: "initial", Healthy: "healthy", Unhealthy: "unhealthy", 7: "State(7)"} {
		if got := fmt.Sprint(s); got != want {
			t.Errorf("State(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

func TestCheckersOfOneIntervalProbeAtTheSameInstants(t *testing.T) {
	const interval = 400 * time.Millisecond
	var mu sync.Mutex
	probes := map[string][]time.Time{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		probes[r.URL.Path] = append(probes[r.URL.Path], time.Now())
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	run := func(path string) {
		check := Check{Type: TypeHTTP, Path: path, Interval: interval, Timeout: waitFor,
			HealthyThreshold: 1, UnhealthyThreshold: 1}
		runChecker(t, srv.Listener.Addr().String(), check, func() int { return 0 })
	}
	run("/a")
	time.Sleep(interval * 3 / 8) // b is registered well off a's rhythm
	run("/b")
	deadline := time.Now().Add(waitFor)
	for {
		mu.Lock()
		a, b := append([]time.Time(nil), probes["/a"]...), append([]time.Time(nil), probes["/b"]...)
		mu.Unlock()
		if len(a) >= 4 && len(b) >= 4 {
			// b's first probe is immediate; every later one meets one of a's.
			for _, tb := range b[1:3] {
				near := false
				for _, ta := range a {
					near = near || (tb.Sub(ta).Abs() < interval/8)
				}
				if !near {
					t.Fatalf("b probed at %v, no probe of a near it (a: %v)", tb, a)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d and %d probes", len(a), len(b))
		}
		time.Sleep(interval / 4)
	}
}
