package controller

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/vmfleet/vmfleet/pkg/image"
	"github.com/vmfleet/vmfleet/pkg/instance"
	"github.com/vmfleet/vmfleet/pkg/stack"
)

// ErrRestartNeeded means a reload changes what a running balancer is
// (its address or health check): the controller must be restarted, which
// leaves the instances running for the new one to adopt.
var ErrRestartNeeded = errors.New("balancer settings changed")

// Reload runs the fleet's resources as stored now, the way running
// `docker compose up` again does, without touching the balancers: a new
// launch template version rolls out launch-before-terminate, a changed
// desired count acts like a scale, new services start, removed ones
// drain away.
func (c *Controller) Reload(ctx context.Context, st *stack.Stack, images map[string]*image.Manifest) error {
	if st.Fleet.Name != c.opts.Stack.Fleet.Name {
		return fmt.Errorf("reload: the stack is fleet %s's, this controller runs %s", st.Fleet.Name, c.opts.Stack.Fleet.Name)
	}
	var err error
	if cerr := c.call(ctx, func() { err = c.apply(st, images) }); cerr != nil {
		return cerr
	}
	return err
}

// apply swaps in the new stack; owner goroutine only. It checks
// everything before it changes anything.
func (c *Controller) apply(st *stack.Stack, images map[string]*image.Manifest) error {
	if c.down {
		return errors.New("reload: the fleet is going down")
	}
	if ts := st.Fleet.TimeScale; ts != c.opts.Stack.Fleet.TimeScale {
		return fmt.Errorf("%w: time_scale %g -> %g", ErrRestartNeeded, c.opts.Stack.Fleet.TimeScale, ts)
	}
	for i := range st.Services {
		ns := &st.Services[i]
		s := c.services[ns.Name]
		if s == nil || s.removed {
			continue
		}
		if ns.LoadBalancer.Listener.Listen != s.spec.LoadBalancer.Listener.Listen || !reflect.DeepEqual(ns.TargetGroup, s.spec.TargetGroup) {
			return fmt.Errorf("%w for service %s", ErrRestartNeeded, ns.Name)
		}
	}
	// New services listen first: an address in use fails the reload whole.
	var added []*service
	for i := range st.Services {
		ns := st.Services[i]
		if s := c.services[ns.Name]; s != nil && !s.removed {
			continue
		}
		s := &service{spec: &ns, image: images[ns.Name], desired: ns.Group.Desired, members: map[string]*member{}, insts: map[string]*instance.Instance{},
			protected: map[string]bool{}}
		if old := c.services[ns.Name]; old != nil {
			// Re-added while its old self drains: keep the old one's
			// members and balancer.
			s.members, s.insts, s.bal, s.listen = old.members, old.insts, old.bal, old.listen
		} else if err := c.listen(s); err != nil {
			for _, a := range added {
				if a.bal != nil && c.services[a.spec.Name] == nil {
					c.release(a)
				}
			}
			return fmt.Errorf("reload: %w", err)
		}
		added = append(added, s)
	}
	for i := range st.Services {
		ns := st.Services[i]
		s := c.services[ns.Name]
		if s == nil || s.removed {
			continue
		}
		if n := ns.Group.Desired; n != s.desired {
			c.emit(ns.Name, "", "scaled", "desired %d -> %d", s.desired, n)
			s.desired = n
		}
		if olt, nlt := &s.spec.LaunchTemplate, &ns.LaunchTemplate; olt.Ref() != nlt.Ref() {
			c.emit(ns.Name, "", "rollout", "launch template %s -> %s (%s): launch before terminate", olt.Ref(), nlt.Ref(), stack.TemplateChanges(olt, nlt))
			s.launchError = "" // a changed service may launch now
		}
		old := *s
		s.spec, s.image = &ns, images[ns.Name]
		c.retrack(s, &old)
	}
	for _, s := range added {
		c.track(s)
		c.services[s.spec.Name] = s
		c.emit(s.spec.Name, "", "added", "desired %d", s.desired)
	}
	keep := map[string]bool{}
	var order []string
	for _, s := range st.Services {
		keep[s.Name] = true
		order = append(order, s.Name)
	}
	for _, name := range c.order {
		if !keep[name] {
			if !c.services[name].removed {
				c.emit(name, "", "removing", "no longer in the fleet file: draining its instances")
			}
			c.services[name].removed = true
			order = append(order, name)
		}
	}
	c.order = order
	c.opts.Stack = st
	c.discovery()
	c.publish()
	return nil
}
