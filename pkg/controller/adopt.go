package controller

import (
	"context"

	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

// adopt takes over the fleet's instances libvirt already has.
func (c *Controller) adopt(ctx context.Context) error {
	list, err := c.opts.Instances.List(ctx)
	if err != nil {
		return err
	}
	for _, inst := range list {
		if inst.Fleet != c.opts.Stack.Fleet.Name || !c.opts.Instances.Owns(inst) {
			continue // another fleet's, or another home's
		}
		s := c.services[inst.Service]
		if s != nil && inst.Pool != "" {
			c.adoptPooled(ctx, s, inst)
			continue
		}
		if s == nil || inst.State != hypervisor.Running {
			// A service no longer in the file, or an instance that stopped
			// while no controller watched: clean it up (aside: its result
			// goes to the loop, which has not started yet).
			c.terminateAside(ctx, s, inst, 0, "adopt: not running or not in the fleet file")
			continue
		}
		tmpl := inst.Template
		// In service since its creation as far as warm-up goes: it served
		// under the last controller.
		m := &member{key: inst.ID, digest: tmpl, phase: inService, launched: inst.Created, inService: inst.Created}
		s.members[inst.ID] = m
		s.insts[inst.ID] = inst
		if inst.ProtectedFromScaleIn {
			s.protected[inst.ID] = true
		}
		// It was in service when the last controller left; the check
		// takes it out if that changed.
		c.link(inst)
		if inst.Lifecycle != nil {
			c.adoptWaiting(s, m, inst)
			continue
		}
		if inst.Standby {
			// Out of the balancer and the count, as before the restart.
			m.phase = standby
			c.emit(inst.Service, inst.ID, "adopted", "in standby at %s", inst.Address)
			continue
		}
		if err := s.bal.RegisterHealthy(inst.Address); err != nil {
			return err
		}
		c.emit(inst.Service, inst.ID, "adopted", "running at %s", inst.Address)
	}
	return nil
}
