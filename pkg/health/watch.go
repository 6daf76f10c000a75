package health

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vmfleet/vmfleet/pkg/cadence"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

// A watch runs a target's checks where the target is (inside its guest),
// with this package's thresholds, and reports back only what the owner of
// the state needs: each change, and between changes a heartbeat every
// ReportEvery. Asking for every check instead costs the host a request,
// an answer and a timer per target per interval, which with 20 idle
// instances was half of the daemon's CPU.

// Watcher starts a watch of target: the far end runs check starting from
// state from and calls report with its state on every change and at each
// heartbeat, until ctx ends (nil error) or the watch breaks. A watch that
// hears nothing for SilenceLimit ends with an error wrapping ErrSilent;
// one the far end cannot run ends with ErrCannotWatch.
type Watcher func(ctx context.Context, check Check, target string, from State, report func(to State, reason string)) error

var (
	// ErrCannotWatch: the far end has no watches (an older guest); the
	// checker probes it one check at a time instead.
	ErrCannotWatch = errors.New("the target cannot run a health check watch")
	// ErrSilent: no report for SilenceLimit.
	ErrSilent = errors.New("no health report")
)

// ReportEvery is how often a watch reports while nothing changes: a
// silent target is then missed after as many intervals as the unhealthy
// threshold counts.
func (c Check) ReportEvery() time.Duration {
	return c.Interval * time.Duration(c.UnhealthyThreshold)
}

// SilenceLimit is how long a watch may go unheard before it counts as one
// failed check: a heartbeat late by up to an interval, and never less
// than floor (limits.HealthSilence).
func (c Check) SilenceLimit(floor time.Duration) time.Duration {
	return limits.HealthSilence(c.Interval, c.UnhealthyThreshold, floor)
}

// runWatch keeps a watch of the target running, mirroring its state. A
// broken or silent watch counts as one failed check and is started again
// on the next point of the interval's grid: a guest late with its report,
// starved of CPU under emulation, is not replaced for one late heartbeat
// but only after the unhealthy threshold's worth of them. It returns
// false when the target cannot be watched.
func (c *Checker) runWatch(ctx context.Context) bool {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		err := c.watch(ctx, c.check, c.target, c.State(), c.mirror)
		switch {
		case ctx.Err() != nil:
			return true
		case errors.Is(err, ErrCannotWatch):
			c.log.Debug("target cannot be watched; probing each check", "err", err)
			return false
		case errors.Is(err, ErrSilent) || errors.As(err, new(injected)):
			c.record(err)
		case err == nil:
			err = errors.New("health check watch ended")
			fallthrough
		default:
			c.record(fmt.Errorf("health check watch: %w", err))
		}
		timer.Reset(cadence.Until(c.check.Interval))
		select {
		case <-ctx.Done():
			return true
		case <-timer.C:
		}
	}
}

// mirror takes a state the watch reported; the far end counted the checks.
func (c *Checker) mirror(to State, reason string) {
	c.successes, c.failures = 0, 0
	from := c.State()
	if to == from {
		return
	}
	c.change(from, to, reason)
}
