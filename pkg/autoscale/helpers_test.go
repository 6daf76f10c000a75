package autoscale

import (
	"testing"
	"time"
)

// start is the tests' hand-driven clock origin, on a period boundary.
var start = time.Date(2026, 12, 2, 2, 40, 0, 0, time.UTC)

// longAgo is when the tests' warmed-up instances went in service.
var longAgo = start.Add(-time.Hour)

// secs is start plus n seconds.
func secs(n int) time.Time { return start.Add(time.Duration(n) * time.Second) }

// group drives a Tracker the way the controller does: every second one
// Observe of the last second's samples, then one Decide, applying each
// decision to desired.
type group struct {
	t       *testing.T
	tracker *Tracker
	now     time.Time
	desired int
}

// event is a decision and the second Decide made it.
type event struct {
	at int
	Decision
}

// groupConfig is a group with a 3s period and no warmup.
func groupConfig(min, max int, policies ...Policy) Config {
	return Config{Group: "shop-api", Min: min, Max: max, Policies: policies, Period: 3 * time.Second}
}

func cpuTarget(v float64) Policy   { return Policy{Metric: CPUUtilization, Target: v} }
func reqTarget(v float64) Policy   { return Policy{Metric: RequestCountPerTarget, Target: v} }
func netInTarget(v float64) Policy { return Policy{Metric: NetworkIn, Target: v} }

func newGroup(t *testing.T, c Config, desired int) *group {
	t.Helper()
	tr, err := New(c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &group{t: t, tracker: tr, now: start, desired: desired}
}

// run advances the group by n seconds, the samples of each second given by
// fleet (called with the sample time), and returns the decisions made.
func (g *group) run(n int, fleet func(now time.Time) []InstanceSample) []event {
	var got []event
	for range n {
		g.now = g.now.Add(time.Second)
		g.tracker.Observe(g.now, time.Second, fleet(g.now))
		if d, ok := g.tracker.Decide(g.now, g.desired); ok {
			if d.From != g.desired {
				g.t.Fatalf("decision %+v is from %d, desired was %d", d, d.From, g.desired)
			}
			got = append(got, event{at: int(g.now.Sub(start) / time.Second), Decision: d})
			g.desired = d.To
		}
	}
	return got
}

// steady is a fleet whose samples never change.
func steady(samples ...InstanceSample) func(time.Time) []InstanceSample {
	return func(time.Time) []InstanceSample { return samples }
}

// empty is a fleet with nothing in service.
func empty(time.Time) []InstanceSample { return nil }

// busy is a warmed-up instance using pct of its CPU cap.
func busy(id string, pct float64) InstanceSample {
	return InstanceSample{ID: id, InServiceSince: longAgo, CPUPercent: pct}
}

// serving is a warmed-up instance whose target gets perSecond requests.
func serving(id string, cpu, perSecond float64) InstanceSample {
	return InstanceSample{ID: id, InServiceSince: longAgo, CPUPercent: cpu, Requests: perSecond}
}

// fleetOf is n warmed-up instances each at pct CPU.
func fleetOf(n int, pct float64) []InstanceSample {
	out := make([]InstanceSample, n)
	for i := range out {
		out[i] = busy(string(rune('a'+i)), pct)
	}
	return out
}

// only fails the test unless got is exactly one decision at second at from
// desired from to to, and returns it.
func only(t *testing.T, got []event, at, from, to int) event {
	t.Helper()
	if len(got) != 1 {
		t.Fatalf("decisions = %+v, want exactly one, %d -> %d at +%ds", got, from, to, at)
	}
	if e := got[0]; e.at != at || e.From != from || e.To != to {
		t.Fatalf("decision at +%ds %d -> %d, want at +%ds %d -> %d (cause: %s)", e.at, e.From, e.To, at, from, to, e.Cause)
	}
	return got[0]
}

// none fails the test if any decision was made.
func none(t *testing.T, got []event) {
	t.Helper()
	if len(got) != 0 {
		t.Fatalf("unexpected decisions: %+v", got)
	}
}
