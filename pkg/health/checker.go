package health

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/vmfleet/vmfleet/pkg/cadence"
)

// State is a target's health as an ELB reports it.
type State int32

const (
	// Initial is the state of a newly checked target: not yet in service.
	Initial State = iota
	// Healthy targets receive traffic.
	Healthy
	// Unhealthy targets receive none until they pass HealthyThreshold checks.
	Unhealthy
)

func (s State) String() string {
	switch s {
	case Initial:
		return "initial"
	case Healthy:
		return "healthy"
	case Unhealthy:
		return "unhealthy"
	default:
		return fmt.Sprintf("State(%d)", int32(s))
	}
}

// Transition is one change of a target's State.
type Transition struct {
	Target string
	From   State
	To     State
	// Reason is the error of the last failed probe for a move to
	// Unhealthy, and a short summary for a move to Healthy.
	Reason string
}

// Options configure a Checker.
type Options struct {
	// Check is the probe spec; it must be valid (see Check.Validate).
	Check Check
	// OnTransition, if set, is called for every state change, from the
	// Checker's own goroutine and before the next probe starts, so calls for
	// one target never overlap and arrive in order. It should return
	// quickly: while it runs, the target is not probed.
	OnTransition func(Transition)
	// Logger receives transitions and probe failures; nil discards.
	Logger *slog.Logger
	// Probe runs the checks; nil runs them from here (Check.Probe).
	Probe Prober
	// Watch, if set, has the checks run where the target is, which
	// reports only changes and heartbeats (see Watcher); Probe is the
	// fallback for a target that cannot be watched.
	Watch Watcher
	// Initial is the state the checker starts in: Initial for a new
	// target, Healthy for one known to be in service already (a target
	// re-adopted after a restart keeps serving while it is re-checked).
	Initial State
}

// Checker probes one target periodically and tracks its State.
type Checker struct {
	target string
	check  Check
	probe  Prober
	watch  Watcher
	notify func(Transition)
	log    *slog.Logger
	state  atomic.Int32

	// Only touched by the goroutine running Run.
	successes, failures int
}

// NewChecker returns a Checker for target (host:port) in opts.Initial.
// Nothing is probed until Run.
func NewChecker(target string, opts Options) (*Checker, error) {
	if err := opts.Check.Validate(); err != nil {
		return nil, fmt.Errorf("new checker for %s: %w", target, err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Checker{
		target: target,
		check:  opts.Check,
		probe:  opts.Probe,
		watch:  opts.Watch,
		notify: opts.OnTransition,
		log:    log.With("target", target),
	}
	c.state.Store(int32(opts.Initial))
	return c, nil
}

// Target returns the address being checked.
func (c *Checker) Target() string { return c.target }

// State returns the current state; safe to call from any goroutine.
func (c *Checker) State() State { return State(c.state.Load()) }

// Run probes the target at once and then every Interval until ctx ends.
// It must be called at most once.
//
// After the first probe, checks fall on the cadence grid of Interval, so
// every checker of one interval wakes at the same instants.
func (c *Checker) Run(ctx context.Context) {
	if c.watch != nil && c.runWatch(ctx) {
		return
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var err error
		if c.probe != nil {
			err = c.probe(ctx, c.check, c.target)
		} else {
			err = c.check.Probe(ctx, c.target)
		}
		if ctx.Err() != nil {
			// A probe cut short by shutdown says nothing about the target.
			return
		}
		c.record(err)
		timer.Reset(cadence.Until(c.check.Interval))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
	}
}

// record counts one probe result like an ELB: only consecutive results
// count, and any opposite result resets the streak.
func (c *Checker) record(err error) {
	from := c.State()
	to := from
	var reason string
	if err == nil {
		c.successes++
		c.failures = 0
		if from != Healthy && c.successes >= c.check.HealthyThreshold {
			to = Healthy
			reason = fmt.Sprintf("passed %d consecutive checks", c.successes)
		}
	} else {
		c.failures++
		c.successes = 0
		c.log.Debug("health check failed", "state", from, "consecutive", c.failures, "err", err)
		// A target that never comes up is reported unhealthy too, as on
		// ELB, so whoever launched it can replace it.
		if from != Unhealthy && c.failures >= c.check.UnhealthyThreshold {
			to = Unhealthy
			reason = err.Error()
		}
	}
	if to != from {
		c.change(from, to, reason)
	}
}

func (c *Checker) change(from, to State, reason string) {
	c.state.Store(int32(to))
	c.log.Info("target health changed", "from", from, "to", to, "reason", reason)
	if c.notify != nil {
		c.notify(Transition{Target: c.target, From: from, To: to, Reason: reason})
	}
}
