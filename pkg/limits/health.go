package limits

import (
	"fmt"
	"time"
)

// AWS's ranges for a target group's health check periods
// (HealthCheckIntervalSeconds, HealthCheckTimeoutSeconds). A fleet file
// takes exactly these, in AWS time; the time scale and the floors below
// decide what runs.
const (
	MinHealthInterval = 5 * time.Second
	MaxHealthInterval = 300 * time.Second
	MinHealthTimeout  = 2 * time.Second
	MaxHealthTimeout  = 120 * time.Second
)

// CheckHealthInterval reports whether d is a health check interval AWS
// accepts.
func CheckHealthInterval(d time.Duration) error {
	return checkAWSPeriod(d, MinHealthInterval, MaxHealthInterval)
}

// CheckHealthTimeout reports whether d is a health check timeout AWS
// accepts (it must also be below the interval; the caller compares).
func CheckHealthTimeout(d time.Duration) error {
	return checkAWSPeriod(d, MinHealthTimeout, MaxHealthTimeout)
}

func checkAWSPeriod(d, lo, hi time.Duration) error {
	if d < lo || d > hi || d%time.Second != 0 {
		return &Error{fmt.Sprintf("is outside AWS's range of %ds to %ds", lo/time.Second, hi/time.Second),
			"give whole seconds in that range; time_scale, not a shorter period, makes a fleet run faster"}
	}
	return nil
}

// The floors of the health periods a fleet runs, whatever its time scale.
// A guest under TCG at its CPU cap must meet them: below them healthy
// instances were replaced in a loop (a 50 ms check with a 150 ms silence
// limit, from interval 1s at time scale 0.05).
const (
	// MinScaledHealthInterval: a check a second is what an emulated guest
	// at its cap runs without the checks themselves taking its CPU.
	MinScaledHealthInterval = time.Second
	// MinScaledHealthTimeout: a check reaches the service inside its guest,
	// which, emulated and capped, may wait tens of milliseconds for its CPU
	// at each step (20 booting instances at 0.25 of a core missed 250 ms
	// checks here). At the interval's floor the timeout is 4/5 of it.
	MinScaledHealthTimeout = time.Second
	// MinHealthSilence is the least time the host waits for a report from
	// inside a guest before counting one failed check: a heartbeat must
	// cross the agent channel from a guest that may be starved of CPU for
	// seconds while ten others boot on two cores.
	MinHealthSilence = 5 * time.Second
)

// HealthFloors are the shortest health periods a fleet runs. The daemon
// runs EmulationFloors; unit tests with no guest may run lower ones.
type HealthFloors struct {
	Interval, Timeout, Silence time.Duration
}

// EmulationFloors are the floors that hold under TCG and load.
func EmulationFloors() HealthFloors {
	return HealthFloors{Interval: MinScaledHealthInterval, Timeout: MinScaledHealthTimeout, Silence: MinHealthSilence}
}

// HealthPeriods are a health check's periods as a fleet runs them.
type HealthPeriods struct {
	// Interval is between two checks.
	Interval time.Duration
	// Timeout is for one check's answer; always below Interval.
	Timeout time.Duration
	// Silence is how long the host goes without a report from inside the
	// guest (a change, or a heartbeat every UnhealthyThreshold intervals)
	// before it counts one failed check.
	Silence time.Duration
}

// RunHealthPeriods is the one place a health check's AWS periods become
// the periods that run: scaled, then raised to the floors. The timeout
// stays below the interval, at 4/5 of it where the floors would meet.
func RunHealthPeriods(interval, timeout time.Duration, unhealthyThreshold int, scale float64, f HealthFloors) HealthPeriods {
	iv := max(Scaled(interval, scale), f.Interval)
	to := max(Scaled(timeout, scale), f.Timeout)
	if to >= iv {
		to = max(iv*4/5, Scaled(timeout, scale))
	}
	return HealthPeriods{Interval: iv, Timeout: to, Silence: HealthSilence(iv, unhealthyThreshold, f.Silence)}
}

// HealthSilence is how long the host waits for a report from a check
// running inside a guest: a heartbeat comes every unhealthyThreshold
// intervals and may be one interval late; never less than floor.
func HealthSilence(interval time.Duration, unhealthyThreshold int, floor time.Duration) time.Duration {
	beat := interval * time.Duration(max(unhealthyThreshold, 1))
	return max(beat+interval, floor)
}

// String reads as `up` and `diff` print it.
func (p HealthPeriods) String() string {
	return fmt.Sprintf("every %v, timeout %v, silence %v", p.Interval, p.Timeout, p.Silence)
}
