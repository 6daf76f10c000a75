package controller

import (
	"context"
	"fmt"
	"time"

	"github.com/vmfleet/vmfleet/pkg/health"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/instance"
)

// find locates a member by its domain or balancer address.
func (c *Controller) find(match func(*instance.Instance) bool) (*service, *member) {
	for _, s := range c.services {
		for id, inst := range s.insts {
			if match(inst) {
				return s, s.members[id]
			}
		}
	}
	return nil, nil
}

// onLifecycle replaces an instance that stopped or crashed on its own:
// out of rotation at once, no drain (its connections died with it).
func (c *Controller) onLifecycle(ctx context.Context, ev hypervisor.Event) {
	if ev.Kind != hypervisor.EventStopped && ev.Kind != hypervisor.EventCrashed {
		return
	}
	s, m := c.find(func(i *instance.Instance) bool { return i.Domain == ev.Domain })
	if m == nil || m.busy || !m.runs() {
		return // busy: the controller itself is stopping or starting it
	}
	c.replaceStopped(ctx, s, m, fmt.Sprintf("domain %s %s", ev.Domain, ev.Kind))
}

// replaceStopped ends a member whose domain stopped on its own: out of
// rotation at once, no drain (its connections died with it); a pool
// member is dropped from the pool.
func (c *Controller) replaceStopped(ctx context.Context, s *service, m *member, why string) {
	if m.phase.pooled() {
		c.emit(s.spec.Name, m.key, "stopped", "warm pool %s; replacing", why)
		c.dropPooled(ctx, s, m)
		return
	}
	c.emit(s.spec.Name, m.key, "stopped", "%s; replacing", why)
	s.failed(m.digest, m.launched)
	c.retire(ctx, s, m, 0)
}

// onHealth acts on the balancer's health checks: a booting instance that
// turns healthy is in service; one in service that turns unhealthy is
// replaced, like an ELB health check on an Auto Scaling group.
func (c *Controller) onHealth(ctx context.Context, tr health.Transition) {
	s, m := c.find(func(i *instance.Instance) bool { return i.Address == tr.Target })
	if m == nil {
		return
	}
	if m.phase.pooled() {
		c.onPoolHealth(ctx, s, m, tr)
		return
	}
	switch {
	case tr.To == health.Healthy && m.phase == booting:
		m.phase, m.inService = inService, time.Now()
		c.emit(s.spec.Name, m.key, "healthy", "in service after %s", time.Since(m.launched).Round(100*time.Millisecond))
		if inst := s.insts[m.key]; inst != nil {
			c.endBurst(ctx, inst)
		}
	case tr.To == health.Unhealthy && m.phase == inService:
		c.emit(s.spec.Name, m.key, "unhealthy", "%s; replacing", tr.Reason)
		s.failed(m.digest, m.launched)
		c.retire(ctx, s, m, 0)
	}
}

// resync catches what events missed: a domain gone or stopped. Listing
// can block while libvirt tears a dying domain down, so it runs aside and
// hands its result to the owner goroutine.
func (c *Controller) resync(ctx context.Context) {
	if c.resyncing {
		return
	}
	c.resyncing = true
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		list, err := c.opts.Instances.List(ctx)
		c.deliver(ctx, func() {
			c.resyncing = false
			if err != nil {
				c.log.Warn("resync", "err", err)
				return
			}
			running := map[string]bool{}
			for _, i := range list {
				running[i.ID] = i.State == hypervisor.Running
			}
			for _, s := range c.services {
				for id, m := range s.members {
					if !m.busy && m.runs() && !running[id] {
						c.replaceStopped(ctx, s, m, "instance no longer running")
					}
				}
			}
		})
	}()
}
