package health

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
)

var errFault = errors.New("fault injected: health checks fail")

// A probed target whose checks a fault fails goes unhealthy with the
// fault's reason, untouched (the probe never runs), and healthy again
// once the fault ends; other targets are left alone.
func TestAFaultFailsAProbedTargetsChecksUntilItEnds(t *testing.T) {
	var f Faults
	var probes atomic.Int32
	probe := f.Probe(func(ctx context.Context, check Check, target string) error { probes.Add(1); return nil })
	events, _ := watchChecker(t, Healthy, nil, probe)
	if err := probe(context.Background(), watchCheck, "other:80"); err != nil {
		t.Fatalf("a target with no fault: %v", err)
	}
	end := f.Fail("guest:80", errFault)
	tr := nextTransition(t, events)
	if tr.To != Unhealthy || tr.Reason != errFault.Error() {
		t.Fatalf("transition %+v; want unhealthy, with the fault's reason", tr)
	}
	before := probes.Load()
	if err := probe(context.Background(), watchCheck, "guest:80"); err == nil || probes.Load() != before {
		t.Fatalf("a failing target was probed (%v)", err)
	}
	end()
	end() // twice is once
	if tr := nextTransition(t, events); tr.To != Healthy {
		t.Fatalf("transition %+v after the fault ended; want healthy", tr)
	}
}

// A watch in progress ends when its target starts failing; the checker
// counts failed checks and, once the fault ends, watches again.
func TestAFaultCutsAWatchAndTheTargetGoesUnhealthyThenBack(t *testing.T) {
	var f Faults
	var starts atomic.Int32
	watch := f.Watch(func(ctx context.Context, check Check, target string, from State, report func(State, string)) error {
		starts.Add(1)
		report(Healthy, "passed 2 consecutive checks")
		<-ctx.Done()
		return nil
	})
	events, c := watchChecker(t, Initial, watch, nil)
	if tr := nextTransition(t, events); tr.To != Healthy {
		t.Fatalf("transition %+v; want healthy", tr)
	}
	end := f.Fail("guest:80", errFault)
	tr := nextTransition(t, events)
	if tr.To != Unhealthy || !strings.Contains(tr.Reason, errFault.Error()) || strings.Contains(tr.Reason, "watch") {
		t.Fatalf("transition %+v; want unhealthy with the fault's reason alone", tr)
	}
	started := starts.Load()
	end()
	if tr := nextTransition(t, events); tr.To != Healthy || starts.Load() <= started {
		t.Fatalf("transition %+v, %d watches; want healthy from a new watch", tr, starts.Load())
	}
	if c.State() != Healthy {
		t.Fatalf("state %v", c.State())
	}
}

// Two faults on one target: it fails until both end.
func TestFaultsOnOneTargetStack(t *testing.T) {
	var f Faults
	probe := f.Probe(func(context.Context, Check, string) error { return nil })
	end1 := f.Fail("guest:80", errors.New("one"))
	end2 := f.Fail("guest:80", errors.New("two"))
	end1()
	if err := probe(context.Background(), watchCheck, "guest:80"); err == nil || err.Error() != "two" {
		t.Fatalf("with one of two faults ended: %v; want the other's error", err)
	}
	end2()
	if err := probe(context.Background(), watchCheck, "guest:80"); err != nil {
		t.Fatalf("with both ended: %v", err)
	}
}

// A nil Faults wraps nothing: a checker without faults is as before.
func TestNilFaultsWrapNothing(t *testing.T) {
	var f *Faults
	if f.Probe(nil) != nil || f.Watch(nil) != nil {
		t.Fatal("a nil Faults made a probe or a watch out of nil")
	}
	var ff Faults
	if ff.Watch(nil) != nil {
		t.Fatal("a Faults made a watch out of nil: the checker would watch a target that has no watches")
	}
}
