package health

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var watchCheck = Check{Type: TypeTCP, Interval: 20 * time.Millisecond, Timeout: 10 * time.Millisecond, HealthyThreshold: 2, UnhealthyThreshold: 2}

// watchChecker runs a checker of "guest:80" over watch until the test
// ends and returns its transitions.
func watchChecker(t *testing.T, initial State, watch Watcher, probe Prober) (<-chan seen, *Checker) {
	t.Helper()
	events := make(chan seen, 100)
	c, err := NewChecker("guest:80", Options{Check: watchCheck, Initial: initial, Watch: watch, Probe: probe,
		OnTransition: func(tr Transition) { events <- seen{Transition: tr} }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return events, c
}

func nextTransition(t *testing.T, events <-chan seen) Transition {
	t.Helper()
	return next(t, events).Transition
}

func TestAWatchedTargetTakesTheStatesTheFarEndReports(t *testing.T) {
	froms := make(chan State, 1)
	watch := func(ctx context.Context, check Check, target string, from State, report func(State, string)) error {
		froms <- from
		report(Healthy, "") // a heartbeat of the state it holds changes nothing
		report(Unhealthy, "tcp check 127.0.0.1:80: connection refused")
		report(Unhealthy, "")
		report(Healthy, "passed 2 consecutive checks")
		<-ctx.Done()
		return nil
	}
	events, c := watchChecker(t, Healthy, watch, nil)
	if from := <-froms; from != Healthy {
		t.Fatalf("the watch started from %v, want the checker's own state, healthy", from)
	}
	if tr := nextTransition(t, events); tr.To != Unhealthy || !strings.Contains(tr.Reason, "refused") {
		t.Fatalf("first transition %+v, want to unhealthy with the far end's reason", tr)
	}
	if tr := nextTransition(t, events); tr.From != Unhealthy || tr.To != Healthy {
		t.Fatalf("second transition %+v, want back to healthy", tr)
	}
	select {
	case tr := <-events:
		t.Fatalf("a heartbeat was reported as a transition: %+v", tr)
	case <-time.After(50 * time.Millisecond):
	}
	if c.State() != Healthy {
		t.Fatalf("state %v", c.State())
	}
}

// A late heartbeat is a failed check, not instant death: healthy
// instances under load were replaced in a loop when one silence was.
func TestASilentWatchCountsAsOneFailedCheck(t *testing.T) {
	var starts atomic.Int32
	watch := func(ctx context.Context, check Check, target string, from State, report func(State, string)) error {
		if starts.Add(1) <= 2 {
			return errors.Join(ErrSilent, errors.New("for 60ms"))
		}
		<-ctx.Done()
		return nil
	}
	events, _ := watchChecker(t, Healthy, watch, nil)
	tr := nextTransition(t, events)
	if tr.To != Unhealthy || starts.Load() != 2 || !strings.Contains(tr.Reason, "no health report") {
		t.Fatalf("transition %+v after %d watches, want unhealthy after the threshold's 2 silent ones", tr, starts.Load())
	}
}

func TestOneSilenceThenAReportKeepsTheTargetHealthy(t *testing.T) {
	var starts atomic.Int32
	watch := func(ctx context.Context, check Check, target string, from State, report func(State, string)) error {
		if starts.Add(1) == 1 {
			return errors.Join(ErrSilent, errors.New("for 60ms"))
		}
		report(Healthy, "")
		<-ctx.Done()
		return nil
	}
	events, c := watchChecker(t, Healthy, watch, nil)
	select {
	case tr := <-events:
		t.Fatalf("one late heartbeat changed the state: %+v", tr)
	case <-time.After(300 * time.Millisecond):
	}
	if starts.Load() < 2 || c.State() != Healthy {
		t.Fatalf("after %d watches the state is %v, want healthy on the second", starts.Load(), c.State())
	}
}

func TestSilenceLimitIsAHeartbeatOneIntervalLateAndNeverBelowTheFloor(t *testing.T) {
	c := Check{Interval: time.Second, UnhealthyThreshold: 2}
	if got := c.SilenceLimit(0); got != 3*time.Second {
		t.Errorf("silence %v, want a heartbeat (2s) one interval late", got)
	}
	if got := c.SilenceLimit(5 * time.Second); got != 5*time.Second {
		t.Errorf("silence %v, want the floor's 5s", got)
	}
}

func TestABrokenWatchCountsAsOneFailedCheckAndIsStartedAgain(t *testing.T) {
	var starts atomic.Int32
	watch := func(ctx context.Context, check Check, target string, from State, report func(State, string)) error {
		if starts.Add(1) <= 2 {
			return errors.New("stream reset")
		}
		report(Healthy, "passed 2 consecutive checks")
		<-ctx.Done()
		return nil
	}
	events, _ := watchChecker(t, Healthy, watch, nil)
	tr := nextTransition(t, events)
	if tr.To != Unhealthy || starts.Load() != 2 || !strings.Contains(tr.Reason, "stream reset") {
		t.Fatalf("transition %+v after %d watches, want unhealthy after the threshold's 2 broken ones", tr, starts.Load())
	}
	if tr := nextTransition(t, events); tr.To != Healthy {
		t.Fatalf("after the watch came back: %+v, want healthy", tr)
	}
}

func TestATargetThatCannotBeWatchedIsProbedEachCheck(t *testing.T) {
	var watches, probes atomic.Int32
	watch := func(ctx context.Context, check Check, target string, from State, report func(State, string)) error {
		watches.Add(1)
		return ErrCannotWatch
	}
	probe := func(ctx context.Context, check Check, target string) error {
		probes.Add(1)
		return nil
	}
	events, _ := watchChecker(t, Initial, watch, probe)
	if tr := nextTransition(t, events); tr.To != Healthy || probes.Load() != 2 {
		t.Fatalf("transition %+v after %d probes, want healthy after 2", tr, probes.Load())
	}
	if watches.Load() != 1 {
		t.Fatalf("the watch was tried %d times, want once", watches.Load())
	}
}
