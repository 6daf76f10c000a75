// Package cadence puts the daemon's periodic work on one grid of instants.
//
// Each periodic task (a health check per target, the metrics sampler, a
// controller's tick) that waits "interval from now" wakes the process at
// its own moment; with 20 instances that is most of an idle daemon's CPU.
// Tasks that wait for the next point of a shared grid instead wake
// together: one wake-up per interval for all of them.
package cadence

import "time"

// Next is the first instant on the grid of every (counted from Go's zero
// time) that is at least half of every after now: two ticks of one task
// are never closer than that, and on average as far apart as every says.
func Next(now time.Time, every time.Duration) time.Time {
	return now.Add(every / 2).Truncate(every).Add(every)
}

// Until is how long to wait from now for Next; use it to Reset a timer.
func Until(every time.Duration) time.Duration {
	return time.Until(Next(time.Now(), every))
}

// After is the first instant on the grid of every later than now: never
// more than every away, however close. It is for a task whose ticks must
// come at least once a period, such as a heartbeat that a silence limit
// of one period (and a little) watches; Next can be half a period later.
func After(now time.Time, every time.Duration) time.Time {
	return now.Truncate(every).Add(every)
}
