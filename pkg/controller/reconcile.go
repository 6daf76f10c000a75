package controller

import (
	"context"
	"slices"
	"time"

	"github.com/vmfleet/vmfleet/pkg/instance"
	"github.com/vmfleet/vmfleet/pkg/limits"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// reconcile plans every service and starts what the plans say, launches
// within the boot budget: groups first, then their warm pools.
func (c *Controller) reconcile(ctx context.Context) {
	now := time.Now()
	c.expireWaits(ctx, now)
	budget := bootBudget{limit: c.opts.BootCPUs}
	for _, s := range c.services {
		for _, m := range s.members {
			if m.boots() {
				budget.used += instance.BootCPU(s.spec.LaunchTemplate.CPU)
			}
		}
	}
	// The warm pools fill once the groups have what they need.
	type refill struct {
		s *service
		n int
	}
	var refills []refill
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
		c.standbyGone(ctx, s)
		s.followRefresh()
		ms := make([]*member, 0, len(s.members))
		for _, m := range s.members {
			ms = append(ms, m)
		}
		if c.down && desired != 0 {
			continue
		}
		g := &s.spec.Group
		// Protection guards against scale-in, not a down: a deleted
		// group's protected instances go too, as with ForceDelete.
		protected := s.protected
		if c.down {
			protected = nil
		}
		p := planService(view{desired: desired, digest: s.template(), members: ms, now: now, grace: c.grace(s),
			policies: g.TerminationPolicies, protected: protected, poolSize: c.poolSize(s, desired), poolState: s.poolState(),
			reuse: g.WarmPool != nil && g.WarmPool.ReuseOnScaleIn, refresh: refreshOf(g.Refresh, desired, now),
			keepOld: !c.rolls()})
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
			c.emit(name, m.key, "replacing", "not healthy within the %s grace period", c.grace(s))
			s.failed(m.digest, m.launched)
			c.retire(ctx, s, m, 0)
		}
		for _, m := range p.retire {
			c.retire(ctx, s, m, c.stopGrace)
		}
		for i := 0; i < p.launch && !now.Before(s.notBefore) && s.launchError == ""; i++ {
			if !budget.take(instance.BootCPU(s.spec.LaunchTemplate.CPU)) {
				break
			}
			c.launch(ctx, s)
		}
		if p.poolLaunch > 0 {
			refills = append(refills, refill{s, p.poolLaunch})
		}
	}
	for _, r := range refills {
		for i := 0; i < r.n && !now.Before(r.s.notBefore); i++ {
			// A stopped pool's launch only defines a domain: no boot.
			if r.s.poolState() != limits.PoolStopped && !budget.take(instance.BootCPU(r.s.spec.LaunchTemplate.CPU)) {
				break
			}
			c.warm(ctx, r.s)
		}
	}
	c.publish()
}

// bootBudget bounds the CPU caps of instances booting at once (see
// Options.BootCPUs); one may always boot.
type bootBudget struct{ used, limit float64 }

// take counts one more boot of cpu cores, if it fits.
func (b *bootBudget) take(cpu float64) bool {
	if b.used > 0 && b.used+cpu > b.limit {
		return false
	}
	b.used += cpu
	return true
}

// dependentsGone reports whether every service depending on name has no
// instances left, so `down` stops dependents before their dependencies.
func (c *Controller) dependentsGone(name string) bool {
	for _, s := range c.services {
		for _, d := range s.spec.LaunchTemplate.DependsOn {
			if d == name && len(s.members) > 0 {
				return false
			}
		}
	}
	return true
}

// refreshOf is the bounds of a group's instance refresh in progress, or
// nil when none is, or it waits at a checkpoint.
func refreshOf(r *store.InstanceRefresh, desired int, now time.Time) *refreshBounds {
	if !r.Active() || r.Waiting(now) {
		return nil // at a checkpoint: what is replaced stays, nothing more
	}
	b := &refreshBounds{minHealthy: r.MinHealthy, maxHealthy: r.MaxHealthy, upTo: r.UpTo(desired)}
	if !r.SkipMatching {
		b.since = r.Start
	}
	return b
}
