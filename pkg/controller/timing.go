package controller

import (
	"time"

	"github.com/vmfleet/vmfleet/pkg/health"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

// Every period of a fleet file is AWS time; the fleet runs it multiplied
// by its time scale (see limits.DefaultTimeScale). These are the one
// place that multiplication happens.

// timeScale is the fleet's (store.Fleet.Scale).
func (c *Controller) timeScale() float64 { return c.opts.Stack.Fleet.Scale() }

func (c *Controller) scaled(d time.Duration) time.Duration { return limits.Scaled(d, c.timeScale()) }

// grace is the health check grace period as the fleet runs it: scaled,
// but never below what a boot takes (limits.ScaledGracePeriod).
func (c *Controller) grace(s *service) time.Duration {
	d := s.spec.Group.HealthCheckGracePeriod
	if d == 0 {
		// AWS's API default of none would judge a VM still booting.
		d = c.opts.HealthCheckGracePeriod
	}
	return limits.ScaledGracePeriod(d, c.timeScale())
}

// checkOf is a service's health check as its balancer runs it: scaled,
// and never below the floors an emulated guest meets.
func (c *Controller) checkOf(h health.Check) health.Check {
	p := limits.RunHealthPeriods(h.Interval, h.Timeout, h.UnhealthyThreshold, c.timeScale(), *c.opts.HealthFloors)
	h.Interval, h.Timeout = p.Interval, p.Timeout
	return h
}

// deregistrationDelay is a service's drain time as its balancer runs it.
func (c *Controller) deregistrationDelay(d time.Duration) time.Duration {
	return limits.ScaledDrain(d, c.timeScale())
}
