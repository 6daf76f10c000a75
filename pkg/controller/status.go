package controller

import (
	"sort"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/balancer"
)

// publish refreshes the snapshot readers see; owner goroutine only.
func (c *Controller) publish() {
	st := api.Fleet{Name: c.opts.Stack.Fleet.Name, File: c.opts.Stack.Fleet.File, Down: c.down, TimeScale: c.timeScale()}
	for _, name := range c.order {
		s := c.services[name]
		ss := api.Service{Name: name, Listen: s.listen, Desired: s.desired, Instances: []api.Instance{}, LaunchError: s.launchError,
			CPU: s.spec.LaunchTemplate.CPU, MemoryBytes: s.spec.LaunchTemplate.MemoryBytes, Min: s.spec.Group.Min, Max: s.spec.Group.Max}
		if w := s.spec.Group.WarmPool; w != nil {
			ss.WarmPool = &api.WarmPool{MinSize: w.MinSize, MaxGroupPreparedCapacity: w.MaxGroupPreparedCapacity,
				PoolState: w.PoolState, ReuseOnScaleIn: w.ReuseOnScaleIn, Size: c.poolSize(s, s.desired)}
		}
		for _, p := range s.spec.Group.Policies {
			ss.Policies = append(ss.Policies, api.Policy{Metric: p.Metric, Target: p.Target})
		}
		if s.removed {
			ss.Desired = 0
		}
		if s.refresh != "" {
			ss.RefreshFailures = &api.RefreshFailures{Of: s.refresh, Count: s.refreshFailures}
		}
		if s.image != nil {
			ss.Image, ss.Digest = s.image.Name, s.image.Digest
		}
		healthOf := map[string]string{}
		if s.bal != nil {
			for _, t := range s.bal.Targets() {
				h := t.State.String()
				if t.Draining {
					h = "draining"
				}
				healthOf[t.Addr] = h
			}
		}
		for key, m := range s.members {
			is := api.Instance{ID: key, Phase: m.phaseName(), Health: "-", Protected: s.protected[key], Outdated: c.rolls() && s.image != nil && m.digest != s.template() && m.phase != launching}
			if inst := s.insts[key]; inst != nil {
				is.Domain, is.Address, is.Console = inst.Domain, inst.Address, inst.Console
				if h, ok := healthOf[inst.Address]; ok {
					is.Health = h
				}
			}
			if m.phase == inService {
				ss.InService++
			}
			if m.phase == warmed {
				ss.Warm++
			}
			ss.Instances = append(ss.Instances, is)
		}
		sort.Slice(ss.Instances, func(i, j int) bool { return ss.Instances[i].ID < ss.Instances[j].ID })
		st.Services = append(st.Services, ss)
	}
	bals := make(map[string]*balancer.Balancer, len(c.services))
	for name, s := range c.services {
		if s.bal != nil {
			bals[name] = s.bal
		}
	}
	c.mu.Lock()
	c.status, c.balancers = st, bals
	c.mu.Unlock()
}

// rolls reports whether a new launch template version replaces the
// fleet's running instances (a fleet file's), rather than only the ones
// launched after it (an Auto Scaling group's, until a refresh).
func (c *Controller) rolls() bool { return !c.opts.Stack.Fleet.FromAPI() }

// Status returns the latest snapshot; safe from any goroutine.
func (c *Controller) Status() api.Fleet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Balancers returns each service's balancer (they are safe for concurrent
// use), for the daemon's metrics; safe from any goroutine.
func (c *Controller) Balancers() map[string]*balancer.Balancer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.balancers
}
