package controller

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/autoscale"
	"github.com/vmfleet/vmfleet/pkg/limits"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// observation is one second of the fleet's metrics.
type observation struct {
	now      time.Time
	interval time.Duration
	services []api.ServiceMetrics
}

// Observe hands the controller a second of its services' metrics, for
// their target tracking. It never blocks: a second that finds the last
// one still queued replaces it.
func (c *Controller) Observe(now time.Time, interval time.Duration, services []api.ServiceMetrics) {
	o := observation{now: now, interval: interval, services: services}
	for {
		select {
		case c.metrics <- o:
			return
		default:
		}
		select {
		case <-c.metrics:
		default:
		}
	}
}

// trackingOf is the target tracking group g asks for, and whether it
// asks for any: the one place that says what tracking depends on.
func (c *Controller) trackingOf(g *store.Group) (autoscale.Config, bool) {
	if !g.Scaling || len(g.Policies) == 0 {
		return autoscale.Config{}, false
	}
	cfg := autoscale.Config{
		Group: g.Name, Min: g.Min, Max: g.Max, DisableScaleIn: g.DisableScaleIn,
		InstanceWarmup: c.scaled(g.InstanceWarmup), Period: c.scaled(time.Minute),
	}
	for _, p := range g.Policies {
		cfg.Policies = append(cfg.Policies, autoscale.Policy{Metric: autoscale.Metric(p.Metric), Target: p.Target})
	}
	return cfg, true
}

// track gives s the target tracking its spec asks for (or none); a
// changed spec starts it afresh, as AWS does for a new policy. Owner
// goroutine, or New.
func (c *Controller) track(s *service) {
	cfg, ok := c.trackingOf(&s.spec.Group)
	if !ok {
		s.tracker = nil
		return
	}
	t, err := autoscale.New(cfg)
	if err != nil {
		// The parser checked the same bounds; say so rather than scale.
		c.emit(s.spec.Name, "", "error", "target tracking off: %v", err)
		s.tracker = nil
		return
	}
	s.tracker = t
}

// retrack restarts target tracking where a reload changed what it
// depends on; an unchanged tracking keeps its history.
func (c *Controller) retrack(s *service, old *service) {
	if old != nil && old.tracker != nil {
		was, _ := c.trackingOf(&old.spec.Group)
		now, _ := c.trackingOf(&s.spec.Group)
		if reflect.DeepEqual(was, now) {
			s.tracker = old.tracker
			return
		}
	}
	c.track(s)
}

// onMetrics feeds a second to every tracker and applies its decisions,
// each an event whose cause reads like an AWS scaling activity's. Owner
// goroutine.
func (c *Controller) onMetrics(o observation) {
	if c.down {
		return
	}
	for _, sm := range o.services {
		s := c.services[sm.Service]
		if s == nil || s.removed || s.tracker == nil {
			continue
		}
		secs := o.interval.Seconds()
		var samples []autoscale.InstanceSample
		for _, im := range sm.Instances {
			m := s.members[im.ID]
			if m == nil || m.phase != inService {
				continue
			}
			samples = append(samples, autoscale.InstanceSample{ID: im.ID, InServiceSince: m.inService, CPUPercent: im.CPUPercent,
				Requests: im.ConnRate * secs, NetIn: im.NetRxRate * secs, NetOut: im.NetTxRate * secs})
		}
		s.tracker.Observe(o.now, o.interval, samples)
		if s.scaling {
			continue // the last decision is not stored yet
		}
		if d, ok := s.tracker.Decide(o.now, s.desired); ok {
			c.emit(s.spec.Name, "", "autoscaling", "%s", d.Cause)
			c.setDesired(s, d.To)
		}
	}
}

// setDesired has a policy's count stored, aside; the store hands it back
// through Scale. Owner goroutine.
func (c *Controller) setDesired(s *service, n int) {
	if c.opts.SetDesired == nil {
		_ = c.scale(map[string]int{s.spec.Name: n})
		return
	}
	s.scaling = true
	ctx, name := c.ctx, s.spec.Name
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		err := c.opts.SetDesired(ctx, name, n)
		c.deliver(ctx, func() {
			s.scaling = false
			if err != nil {
				c.emit(name, "", "error", "store the policy's desired %d: %v", n, err)
			}
		})
	}()
}

// checkBounds refuses a count outside the service's group bounds, as
// SetDesiredCapacity does.
func checkBounds(s *service, n int) error {
	g := &s.spec.Group
	return limits.CheckDesired(s.spec.Name, n, g.Min, g.Max, g.Scaling)
}

// Protect tells the controller the scale-in protection of instances of
// the fleet, once their metadata has it (instance.Manager.SetProtected),
// as SetInstanceProtection sets it: a protected instance is never picked
// by a scale-in (it is still replaced when it fails).
func (c *Controller) Protect(ctx context.Context, ids []string, on bool) error {
	var err error
	if cerr := c.call(ctx, func() {
		found := map[string]*service{}
		for _, id := range ids {
			for _, s := range c.services {
				if s.insts[id] != nil {
					found[id] = s
				}
			}
			if found[id] == nil {
				err = fmt.Errorf("protect: fleet %s has no instance %s; see vmfleet ps", c.opts.Stack.Fleet.Name, id)
				return
			}
		}
		for _, id := range ids {
			s := found[id]
			if on {
				s.protected[id] = true
				c.emit(s.spec.Name, id, "protected", "protected from scale-in")
			} else {
				delete(s.protected, id)
				c.emit(s.spec.Name, id, "unprotected", "no longer protected from scale-in")
			}
		}
	}); cerr != nil {
		return cerr
	}
	return err
}
