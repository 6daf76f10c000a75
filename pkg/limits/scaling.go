package limits

import (
	"fmt"
	"time"
)

// A service's Auto Scaling group: its size, and its target tracking
// policies.
const (
	// MaxGroupSize bounds a group's MaxSize, and the instance count of a
	// service without scaling: this machine fits about 90 idle 128 MiB
	// instances, so a larger count is a typo that would try to boot more
	// VMs than there is memory for.
	MaxGroupSize = 100
	// DefaultInstanceWarmup is target tracking's default warm-up
	// (EstimatedInstanceWarmup when the group sets no
	// DefaultInstanceWarmup): 300 s in which a new instance's metrics are
	// not yet counted.
	DefaultInstanceWarmup = 300 * time.Second
	// MaxInstanceWarmup is AWS's upper bound for DefaultInstanceWarmup
	// (3600 s).
	MaxInstanceWarmup = 3600 * time.Second
	// MaxCPUTarget is the most a cpu_utilization target can be: the
	// metric is a percentage of the instance's CPU cap.
	MaxCPUTarget = 100.0
	// RefreshFailures is how many instances of an instance refresh may
	// fail to launch or to become (and stay) healthy before the refresh
	// fails, or rolls back when it asked to. AWS does not publish its
	// number; three tells a broken image from one unlucky boot.
	RefreshFailures = 3
)

// The metrics a target tracking policy can track, as a fleet file names
// them; each is one of AWS's predefined metrics.
const (
	// MetricCPUUtilization is ASGAverageCPUUtilization: the group's average
	// CPU use, in percent of each instance's cap.
	MetricCPUUtilization = "cpu_utilization"
	// MetricRequestCountPerTarget is ALBRequestCountPerTarget: requests
	// per in-service instance in one datapoint, a minute of AWS time.
	MetricRequestCountPerTarget = "request_count_per_target"
	// MetricNetworkIn is ASGAverageNetworkIn: bytes received per instance
	// in one datapoint.
	MetricNetworkIn = "network_in"
	// MetricNetworkOut is ASGAverageNetworkOut: bytes sent per instance in
	// one datapoint.
	MetricNetworkOut = "network_out"
)

// Metrics returns every metric a target tracking policy can track, in the
// order messages list them. It is a new slice each call, so no caller can
// change what another sees.
func Metrics() []string {
	return []string{MetricCPUUtilization, MetricRequestCountPerTarget, MetricNetworkIn, MetricNetworkOut}
}

// AWSMetric returns the name AWS gives metric, or "" for a metric that
// Metrics does not list.
func AWSMetric(metric string) string {
	switch metric {
	case MetricCPUUtilization:
		return "ASGAverageCPUUtilization"
	case MetricRequestCountPerTarget:
		return "ALBRequestCountPerTarget"
	case MetricNetworkIn:
		return "ASGAverageNetworkIn"
	case MetricNetworkOut:
		return "ASGAverageNetworkOut"
	}
	return ""
}

// CheckGroupMax reports whether n can be a group's MaxSize.
func CheckGroupMax(n int) error {
	if n < 1 || n > MaxGroupSize {
		return &Error{"is out of range", fmt.Sprintf("use 1 to %d", MaxGroupSize)}
	}
	return nil
}

// CheckDesired reports whether service's group, bounded by lo..hi (by its
// scaling block, or by 0..MaxGroupSize without one), may be set to n, as
// SetDesiredCapacity checks it. It reads whole.
func CheckDesired(service string, n, lo, hi int, scaling bool) error {
	switch {
	case n < 0:
		return fmt.Errorf("scale %s=%d: the count cannot be negative; nothing was changed", service, n)
	case (n < lo || n > hi) && !scaling:
		return fmt.Errorf("scale %s=%d: a group holds at most %d instances (limits.MaxGroupSize); nothing was changed", service, n, MaxGroupSize)
	case n < lo || n > hi:
		return fmt.Errorf("scale %s=%d: outside the group's bounds %d..%d; change scaling.min and scaling.max in the fleet file to go beyond them; nothing was changed", service, n, lo, hi)
	}
	return nil
}

// CheckInstanceWarmup reports whether d can be an instance warm-up.
func CheckInstanceWarmup(d time.Duration) error {
	return checkPeriod(d, MaxInstanceWarmup)
}

// CheckTarget reports whether target is a target value for metric, one
// that Metrics lists.
func CheckTarget(metric string, target float64) error {
	if err := checkPositive(target, "give the value the metric should be held at, like 50"); err != nil {
		return err
	}
	if metric == MetricCPUUtilization && target > MaxCPUTarget {
		return &Error{fmt.Sprintf("is more than %g percent of the CPU cap", MaxCPUTarget), fmt.Sprintf("give a percentage above 0 and at most %g, like 50", MaxCPUTarget)}
	}
	return nil
}

// Termination policies (an Auto Scaling group's TerminationPolicies): the
// order in which scale-in picks the instances to remove. vmfleet's
// Default removes instances not yet in service first, then those of an
// older launch template, then the newest (the one that has done the least
// work, a stand-in for AWS's "closest to the next billing hour").
const (
	TerminationDefault              = "Default"
	TerminationOldestInstance       = "OldestInstance"
	TerminationNewestInstance       = "NewestInstance"
	TerminationOldestLaunchTemplate = "OldestLaunchTemplate"
)

// TerminationPolicies lists the policies vmfleet knows, in AWS's words.
func TerminationPolicies() []string {
	return []string{TerminationDefault, TerminationOldestInstance, TerminationNewestInstance, TerminationOldestLaunchTemplate}
}

// A load `vmfleet load` sends: enough to drive target tracking in a demo,
// bounded so that a typo cannot flood the machine or run for hours.
const (
	MaxLoadRate        = 1000 // per second
	MaxLoadDuration    = 10 * time.Minute
	MaxLoadConcurrency = 64
	// DefaultLoadConcurrency is how many a load keeps in flight unless
	// told: the CLI's default and the dashboard's.
	DefaultLoadConcurrency = 4
	// DefaultLoadDuration is how long a load runs unless told.
	DefaultLoadDuration = 30 * time.Second
	// MaxLoadWait is how long one request or connection may take before
	// it counts as failed.
	MaxLoadWait = 5 * time.Second
)

// Injected faults (vmfleet fault): a pause is undone after its duration.
const (
	DefaultFaultDuration = 30 * time.Second
	MaxFaultDuration     = 10 * time.Minute
)
