package controller

import (
	"context"
	"errors"
	"fmt"

	"github.com/vmfleet/vmfleet/pkg/balancer"
)

// Acting on one instance of a group, as Auto Scaling's instance
// operations do: terminate it, mark it unhealthy, put it in standby and
// back. A change of the desired count is made here first, with the
// instance it concerns, and stored by the caller after: stored first, a
// scale-in could pick another instance.

// Detached is what an instance operation changed of its group.
type Detached struct {
	Service string
	// Desired is the group's desired count after it.
	Desired int
}

// TerminateInstance drains and terminates instance id (through its
// termination hooks); with decrement the group's desired count drops by
// one, else a replacement launches.
func (c *Controller) TerminateInstance(ctx context.Context, id string, decrement bool) (Detached, error) {
	return c.onInstance(ctx, id, func(s *service, m *member) (int, error) {
		if m.phase == leaving {
			return 0, fmt.Errorf("instance %s is already terminating", id)
		}
		delta, err := shrink(s, decrement)
		if err != nil {
			return 0, err
		}
		c.emit(s.spec.Name, id, "terminating", "TerminateInstanceInAutoScalingGroup")
		c.retire(ctx, s, m, c.stopGrace)
		return delta, nil
	})
}

// MarkUnhealthy replaces instance id as a failed health check would;
// with respectGrace an instance not yet in service within the grace
// period is left alone, as SetInstanceHealth does.
func (c *Controller) MarkUnhealthy(ctx context.Context, id string, respectGrace bool) error {
	_, err := c.onInstance(ctx, id, func(s *service, m *member) (int, error) {
		if m.phase == leaving || respectGrace && m.phase != inService {
			return 0, nil
		}
		c.emit(s.spec.Name, id, "unhealthy", "set unhealthy (SetInstanceHealth); replacing")
		c.retire(ctx, s, m, 0)
		return 0, nil
	})
	return err
}

// EnterStandby takes instance id, in service, out of the balancer's
// rotation and out of the group's count while it keeps running; without
// decrement a replacement launches.
func (c *Controller) EnterStandby(ctx context.Context, id string, decrement bool) (Detached, error) {
	return c.onInstance(ctx, id, func(s *service, m *member) (int, error) {
		if m.phase != inService {
			return 0, fmt.Errorf("The instance %s is not in InService", id)
		}
		delta, err := shrink(s, decrement)
		if err != nil {
			return 0, err
		}
		m.phase = standby
		if inst := s.insts[id]; inst != nil {
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				if err := s.bal.Deregister(ctx, inst.Address); err != nil && !errors.Is(err, balancer.ErrUnknownTarget) {
					c.log.Warn("deregister for standby", "instance", id, "err", err)
				}
			}()
		}
		c.emit(s.spec.Name, id, "standby", "entered standby: out of the balancer, still running")
		return delta, nil
	})
}

// ExitStandby returns instance id from standby: registered again, it is
// in service once healthy, and the desired count grows by one.
func (c *Controller) ExitStandby(ctx context.Context, id string) (Detached, error) {
	return c.onInstance(ctx, id, func(s *service, m *member) (int, error) {
		if m.phase != standby {
			return 0, fmt.Errorf("The instance %s is not in Standby", id)
		}
		if err := checkBounds(s, s.desired+1); err != nil {
			return 0, err
		}
		c.emit(s.spec.Name, id, "pending", "left standby")
		c.proceed(s, m)
		return 1, nil
	})
}

// shrink is the change of s's desired count an instance leaving it
// makes: -1 with decrement, within the group's bounds, else none.
func shrink(s *service, decrement bool) (int, error) {
	if !decrement {
		return 0, nil
	}
	return -1, checkBounds(s, s.desired-1)
}

// onInstance runs f on the owner goroutine with instance id's member and
// applies the change of desired count it returns.
func (c *Controller) onInstance(ctx context.Context, id string, f func(*service, *member) (int, error)) (Detached, error) {
	var out Detached
	var err error
	if cerr := c.call(ctx, func() {
		if c.down {
			err = errors.New("the group is being deleted")
			return
		}
		for _, s := range c.services {
			m := s.members[id]
			if m == nil || m.phase.pooled() || m.phase == launching {
				continue
			}
			var delta int
			if delta, err = f(s, m); err != nil {
				return
			}
			if delta != 0 {
				c.emit(s.spec.Name, "", "scaled", "desired %d -> %d", s.desired, s.desired+delta)
				s.desired, s.scaling = s.desired+delta, false
			}
			out = Detached{Service: s.spec.Name, Desired: s.desired}
			return
		}
		err = fmt.Errorf("%w: fleet %s has no instance %s in a group", ErrNoInstance, c.opts.Stack.Fleet.Name, id)
	}); cerr != nil {
		return out, cerr
	}
	return out, err
}

// ErrNoInstance is returned for an instance the fleet's groups do not
// have.
var ErrNoInstance = errors.New("no such instance")

// standbyGone retires a fleet's standby instances once it goes down or
// their service is removed: no plan counts them.
func (c *Controller) standbyGone(ctx context.Context, s *service) {
	if !c.down && !s.removed {
		return
	}
	for _, m := range s.members {
		if m.phase == standby {
			c.retire(ctx, s, m, c.stopGrace)
		}
	}
}
