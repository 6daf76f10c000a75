package autoscale

import (
	"fmt"
	"math"
	"time"
)

// Alarm streak lengths and the low alarm's threshold, as target tracking
// creates its CloudWatch alarms.
const (
	highDatapoints = 3
	lowDatapoints  = 15
	lowFraction    = 0.9
)

// Decision is a change of the desired capacity.
type Decision struct {
	From, To int
	// Policy and Alarm are what triggered the change; both are zero when
	// Decide only brought desired back into [Min, Max].
	Policy Policy
	// Alarm is e.g. "TargetTracking-shop-api-AlarmHigh-cpu_utilization".
	Alarm string
	// Cause says why, the way an AWS scaling activity does.
	Cause string
}

// Decide closes the periods that ended by now, evaluates every policy's
// alarms against desired, the group's current desired capacity, and reports
// whether desired should change. After a change the alarm streaks restart.
// Desired outside [Min, Max] is first brought back into them.
func (t *Tracker) Decide(now time.Time, desired int) (Decision, bool) {
	t.closeThrough(now)
	d, ok := t.decide(now, desired)
	if ok {
		t.streakFrom = now
	}
	return d, ok
}

func (t *Tracker) decide(now time.Time, desired int) (Decision, bool) {
	if to := t.Clamp(desired); to != desired {
		return Decision{From: desired, To: to, Cause: fmt.Sprintf(
			"At %s the desired capacity %d was outside the group's bounds (min %d, max %d), changing the desired capacity from %d to %d.",
			stamp(now), desired, t.cfg.Min, t.cfg.Max, desired, to)}, true
	}
	if len(t.history) == 0 {
		return Decision{}, false
	}
	latest := t.history[len(t.history)-1]

	// Scale out: any policy whose high alarm fires and whose proposal beats
	// desired; the largest proposal wins, the first policy on a tie.
	out, outBy := desired, -1
	for i, p := range t.cfg.Policies {
		if !t.breaching(p, highDatapoints, true) {
			continue
		}
		if n := t.proposal(latest, p, true); n > out {
			out, outBy = n, i
		}
	}
	if outBy >= 0 {
		return t.alarmDecision(now, desired, out, t.cfg.Policies[outBy], "AlarmHigh"), true
	}

	// Scale in: only if every policy's low alarm fires and proposes less
	// than desired, to the largest proposal, so that no policy's metric is
	// pushed over its target. Instances still warming up block it: their
	// load is not known yet.
	if t.cfg.DisableScaleIn || latest.warming > 0 {
		return Decision{}, false
	}
	in, inBy := -1, -1
	for i, p := range t.cfg.Policies {
		if !t.breaching(p, lowDatapoints, false) {
			return Decision{}, false
		}
		n := t.proposal(latest, p, false)
		if n >= desired {
			return Decision{}, false
		}
		if n > in {
			in, inBy = n, i
		}
	}
	return t.alarmDecision(now, desired, in, t.cfg.Policies[inBy], "AlarmLow"), true
}

// breaching reports whether p's n latest datapoints all exceed its target
// (high) or are all below lowFraction of it (low), none Missing and all
// closed after the last change of desired.
func (t *Tracker) breaching(p Policy, n int, high bool) bool {
	if len(t.history) < n {
		return false
	}
	i := p.Metric.index()
	for _, dp := range t.history[len(t.history)-n:] {
		if dp.missing || !dp.end.After(t.streakFrom) {
			return false
		}
		v := dp.values[i]
		if high && !(v > p.Target) || !high && !(v < lowFraction*p.Target) {
			return false
		}
	}
	return true
}

// proposal is the capacity that would bring p's metric to its target:
// instances * value / target, rounded up for a scale-out and down for a
// scale-in, clamped to [Min, Max].
func (t *Tracker) proposal(latest period, p Policy, up bool) int {
	x := latest.instances * latest.values[p.Metric.index()] / p.Target
	// Averages of whole numbers come out a hair off (2.0000000000000004):
	// do not let that add or remove an instance.
	const slack = 1e-9
	if up {
		x = math.Ceil(x - slack)
	} else {
		x = math.Floor(x + slack)
	}
	if !(x > float64(t.cfg.Min)) { // also catches NaN
		return t.cfg.Min
	}
	if x >= float64(t.cfg.Max) {
		return t.cfg.Max
	}
	return int(x)
}

func (t *Tracker) alarmDecision(now time.Time, from, to int, p Policy, kind string) Decision {
	alarm := "TargetTracking-" + t.cfg.Group + "-" + kind + "-" + string(p.Metric)
	return Decision{From: from, To: to, Policy: p, Alarm: alarm, Cause: fmt.Sprintf(
		"At %s a monitor alarm %s in state ALARM triggered policy %s changing the desired capacity from %d to %d.",
		stamp(now), alarm, p.Name(), from, to)}
}

// stamp formats now as an AWS activity does: UTC, RFC 3339, seconds.
func stamp(now time.Time) string {
	return now.UTC().Format(time.RFC3339)
}
