package controller

import (
	"context"
	"slices"
	"time"

	"github.com/vmfleet/vmfleet/pkg/instance"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

// reconcile plans every service and starts what the plans say, launches
// within the boot budget: groups first, then their warm pools.
func (c *Controller) reconcile(ctx context.Context) {
	now := time.Now()
	starting := 0.0 // CPU caps of instances launching or booting
	for _, s := range c.services {
		for _, m := range s.members {
			if m.phase == launching || m.phase == booting || (m.phase == warming && m.pool != limits.PoolStopped) {
				starting += instance.BootCPU(s.spec.CPU)
			}
		}
	}
	// The warm pools fill once the groups have what they need.
	var warmLater []func()
	for _, name := range append([]string(nil), c.order...) {
		s := c.services[name]
		if s.removed && len(s.members) == 0 {
			// A service gone from the file: its instances are gone too.
			c.release(s)
			delete(c.services, name)
			c.order = slices.DeleteFunc(c.order, func(n string) bool { return n == name })
			c.emit(name, "", "removed", "service no longer in the fleet file; balancer closed")
			continue
		}
		desired := s.desired
		if s.removed {
			desired = 0
		}
		if c.down && !c.dependentsGone(name) {
			desired = len(s.members) // hold until what depends on it is gone
		} else if c.down {
			desired = 0
		}
		ms := make([]*member, 0, len(s.members))
		for _, m := range s.members {
			ms = append(ms, m)
		}
		if c.down && desired != 0 {
			continue
		}
		var policies []string
		if s.spec.Scaling != nil {
			policies = s.spec.Scaling.TerminationPolicies
		}
		p := planService(view{desired: desired, digest: s.template(), members: ms, now: now, grace: c.grace(),
			policies: policies, protected: s.protected, poolSize: c.poolSize(s, desired), poolState: s.poolState(),
			reuse: s.spec.WarmPool != nil && s.spec.WarmPool.ReuseOnScaleIn})
		for _, m := range p.enter {
			c.enter(ctx, s, m)
		}
		for _, m := range p.toPool {
			c.returnToPool(ctx, s, m)
		}
		for _, m := range p.poolDrop {
			c.dropPooled(ctx, s, m)
		}
		for _, m := range p.replace {
			c.emit(name, m.key, "replacing", "not healthy within the %s grace period", c.grace())
			c.retire(ctx, s, m, 0)
		}
		for _, m := range p.retire {
			c.retire(ctx, s, m, 10*time.Second)
		}
		for i := 0; i < p.launch && !now.Before(s.notBefore) && s.launchError == ""; i++ {
			if starting > 0 && starting+instance.BootCPU(s.spec.CPU) > c.opts.BootCPUs {
				break
			}
			c.launch(ctx, s)
			starting += instance.BootCPU(s.spec.CPU)
		}
		if p.poolLaunch > 0 {
			warmLater = append(warmLater, func() {
				for i := 0; i < p.poolLaunch && !now.Before(s.notBefore); i++ {
					boots := s.poolState() != limits.PoolStopped
					if boots && starting > 0 && starting+instance.BootCPU(s.spec.CPU) > c.opts.BootCPUs {
						break
					}
					c.warm(ctx, s)
					if boots {
						starting += instance.BootCPU(s.spec.CPU)
					}
				}
			})
		}
	}
	for _, f := range warmLater {
		f()
	}
	c.publish()
}

// dependentsGone reports whether every service depending on name has no
// instances left, so `down` stops dependents before their dependencies.
func (c *Controller) dependentsGone(name string) bool {
	for _, s := range c.services {
		for _, d := range s.spec.DependsOn {
			if d == name && len(s.members) > 0 {
				return false
			}
		}
	}
	return true
}
