// Package autoscale decides a group's desired capacity the way an AWS Auto
// Scaling target tracking policy does, as a pure state machine: the caller
// feeds it per-instance usage samples and the current desired capacity, with
// explicit times, and it answers whether and how desired should change.
// It reads no clock, starts no goroutine and is not safe for concurrent use.
//
// The rules it reproduces:
//
//   - Samples are folded into datapoints of one Period each (AWS's one minute,
//     scaled by the caller), aligned to multiples of Period. Only instances in
//     service and past InstanceWarmup count; a period without any such
//     instance gives a Missing datapoint.
//   - A policy's high alarm fires when its 3 latest datapoints all exceed the
//     target; its low alarm when its 15 latest are all below 90% of it. A
//     Missing datapoint breaks both streaks, and so does a scaling decision:
//     after one, the alarms need fresh datapoints again.
//   - The new capacity is ceil (out) or floor (in) of n*value/target, n being
//     the eligible instances of the latest datapoint, clamped to [Min, Max].
//     Instances still warming up are not in n but are in desired, so the
//     proposal must beat desired to change anything.
//   - With several policies, any one can scale out (the largest proposal
//     wins); scale-in needs all of them to agree, and goes to the largest of
//     their proposals. No policy scales in while an instance is warming up,
//     nor at all with DisableScaleIn.
//
// With Min 0 a group can be scaled in to zero instances; it then produces
// only Missing datapoints and never scales out again by itself, as in AWS.
package autoscale

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Metric is one of the predefined target tracking metrics.
type Metric string

const (
	// CPUUtilization (ASGAverageCPUUtilization) is the average percent of
	// their CPU cap that the instances used.
	CPUUtilization Metric = "cpu_utilization"
	// RequestCountPerTarget (ALBRequestCountPerTarget) is the requests each
	// target got per Period.
	RequestCountPerTarget Metric = "request_count_per_target"
	// NetworkIn (ASGAverageNetworkIn) is the bytes each instance received
	// per Period.
	NetworkIn Metric = "network_in"
	// NetworkOut (ASGAverageNetworkOut) is the bytes each instance sent per
	// Period.
	NetworkOut Metric = "network_out"
)

// numMetrics is how many values a datapoint holds, one per Metric.
const numMetrics = 4

// index is m's position in a datapoint's values, or -1 for an unknown metric.
func (m Metric) index() int {
	switch m {
	case CPUUtilization:
		return 0
	case RequestCountPerTarget:
		return 1
	case NetworkIn:
		return 2
	case NetworkOut:
		return 3
	}
	return -1
}

// Policy keeps one metric near a target value.
type Policy struct {
	Metric Metric
	Target float64
}

// Name is the policy's name in causes, e.g. "cpu_utilization-target-50".
func (p Policy) Name() string {
	return string(p.Metric) + "-target-" + strconv.FormatFloat(p.Target, 'f', -1, 64)
}

// Config describes a group and its target tracking policies.
type Config struct {
	// Group names the group in alarm names and causes, e.g. "shop-api".
	Group    string
	Min, Max int
	Policies []Policy
	// InstanceWarmup is how long after entering service an instance is left
	// out of the metrics (and of n in the capacity formula).
	InstanceWarmup time.Duration
	// DisableScaleIn stops every policy from removing capacity.
	DisableScaleIn bool
	// Period is the length of one datapoint: AWS's one minute, multiplied by
	// the fleet's time scale by the caller (e.g. 3s).
	Period time.Duration
}

// Datapoint is one closed period of one metric.
type Datapoint struct {
	// End is the end of the period the datapoint covers.
	End   time.Time
	Value float64
	// Missing is set when no eligible instance was seen in the period; Value
	// is then 0 and means nothing.
	Missing bool
}

// KeptDatapoints is how many closed datapoints a Tracker remembers: enough
// for the 15-datapoint low alarm, and a few minutes of history to show.
const KeptDatapoints = 60

// Tracker holds the datapoints and alarm streaks of one group.
type Tracker struct {
	cfg Config
	// next is the end of the period being accumulated; zero before the
	// first Observe.
	next    time.Time
	acc     accumulator
	history []period // oldest first, at most KeptDatapoints
	// streakFrom is when desired last changed: only datapoints ending
	// after it count towards an alarm.
	streakFrom time.Time
}

// New returns a Tracker for cfg, or a one-line error naming the first thing
// wrong with it.
func New(cfg Config) (*Tracker, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("autoscale group %q: %w", cfg.Group, err)
	}
	cfg.Policies = append([]Policy(nil), cfg.Policies...)
	return &Tracker{cfg: cfg, history: make([]period, 0, KeptDatapoints)}, nil
}

func (c Config) validate() error {
	switch {
	case c.Group == "":
		return fmt.Errorf("group name is empty; set it, it names the alarms")
	case c.Min < 0:
		return fmt.Errorf("min %d is negative; use 0 or more", c.Min)
	case c.Max < 1:
		return fmt.Errorf("max %d must be at least 1", c.Max)
	case c.Min > c.Max:
		return fmt.Errorf("min %d is above max %d; lower min or raise max", c.Min, c.Max)
	case len(c.Policies) == 0:
		return fmt.Errorf("no target tracking policy; add one, e.g. %s with target 50", CPUUtilization)
	case c.Period <= 0:
		return fmt.Errorf("datapoint period %v must be positive, e.g. 1m scaled by the time scale", c.Period)
	case c.InstanceWarmup < 0:
		return fmt.Errorf("instance warmup %v is negative; use 0 or more", c.InstanceWarmup)
	}
	seen := make(map[Metric]bool, len(c.Policies))
	for _, p := range c.Policies {
		if p.Metric.index() < 0 {
			return fmt.Errorf("unknown metric %q; use %s, %s, %s or %s",
				p.Metric, CPUUtilization, RequestCountPerTarget, NetworkIn, NetworkOut)
		}
		if !(p.Target > 0) || math.IsInf(p.Target, 1) {
			return fmt.Errorf("target %v of %s must be a positive number", p.Target, p.Metric)
		}
		if seen[p.Metric] {
			return fmt.Errorf("two policies track %s; keep one", p.Metric)
		}
		seen[p.Metric] = true
	}
	return nil
}

// Clamp bounds a manually requested capacity to [Min, Max].
func (t *Tracker) Clamp(n int) int {
	return min(max(n, t.cfg.Min), t.cfg.Max)
}

// Datapoints returns the closed datapoints of m the Tracker still keeps,
// oldest first; nil for an unknown metric. Every metric is computed, tracked
// by a policy or not.
func (t *Tracker) Datapoints(m Metric) []Datapoint {
	i := m.index()
	if i < 0 {
		return nil
	}
	out := make([]Datapoint, len(t.history))
	for j, p := range t.history {
		out[j] = Datapoint{End: p.end, Value: p.values[i], Missing: p.missing}
	}
	return out
}
