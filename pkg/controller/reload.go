package controller

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/vmfleet/vmfleet/pkg/fleetfile"
	"github.com/vmfleet/vmfleet/pkg/image"
	"github.com/vmfleet/vmfleet/pkg/instance"
)

// ErrRestartNeeded means a reload changes what a running balancer is
// (its address or health check): the controller must be restarted, which
// leaves the instances running for the new one to adopt.
var ErrRestartNeeded = errors.New("balancer settings changed")

// Reload applies a changed fleet file to the running fleet, the way
// running `docker compose up` again does, without touching the balancers:
// changed images roll out launch-before-terminate, counts change like a
// scale, new services start, removed ones drain away.
func (c *Controller) Reload(ctx context.Context, f *fleetfile.Fleet, images map[string]*image.Manifest, desired map[string]int) error {
	if f.Name != c.opts.Fleet.Name {
		return fmt.Errorf("reload: the file describes fleet %s, this controller runs %s", f.Name, c.opts.Fleet.Name)
	}
	var err error
	if cerr := c.call(ctx, func() { err = c.apply(f, images, desired) }); cerr != nil {
		return cerr
	}
	return err
}

// apply swaps in the new fleet and the groups' desired counts as stored;
// owner goroutine only. It checks everything before it changes anything.
func (c *Controller) apply(f *fleetfile.Fleet, images map[string]*image.Manifest, desired map[string]int) error {
	if c.down {
		return errors.New("reload: the fleet is going down")
	}
	if f.TimeScale != c.opts.Fleet.TimeScale {
		return fmt.Errorf("%w: time_scale %g -> %g", ErrRestartNeeded, c.opts.Fleet.TimeScale, f.TimeScale)
	}
	for _, ns := range f.Services {
		s := c.services[ns.Name]
		if s == nil || s.removed {
			continue
		}
		if ns.Balancer != s.spec.Balancer || !reflect.DeepEqual(ns.Health, s.spec.Health) {
			return fmt.Errorf("%w for service %s", ErrRestartNeeded, ns.Name)
		}
	}
	// New services listen first: an address in use fails the reload whole.
	var added []*service
	for _, ns := range f.Services {
		if s := c.services[ns.Name]; s != nil && !s.removed {
			continue
		}
		s := &service{spec: ns, image: images[ns.Name], desired: desiredOf(ns, desired), members: map[string]*member{}, insts: map[string]*instance.Instance{},
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
	for _, ns := range f.Services {
		if s := c.services[ns.Name]; s != nil && !s.removed {
			if n := desiredOf(ns, desired); n != s.desired {
				c.emit(ns.Name, "", "scaled", "desired %d -> %d", s.desired, n)
				s.desired = n
			}
			switch {
			case s.image.Digest != images[ns.Name].Digest:
				c.emit(ns.Name, "", "rollout", "image %s -> %s: launch before terminate", s.image.ShortDigest(), images[ns.Name].ShortDigest())
			case s.spec.CPU != ns.CPU || s.spec.MemoryBytes != ns.MemoryBytes:
				c.emit(ns.Name, "", "rollout", "cpu %g -> %g, memory %dMiB -> %dMiB: launch before terminate", s.spec.CPU, ns.CPU, s.spec.MemoryBytes>>20, ns.MemoryBytes>>20)
			}
			if !reflect.DeepEqual(s.spec, ns) || s.image.Digest != images[ns.Name].Digest {
				s.launchError = "" // a changed service may launch now
			}
			old := *s
			s.spec, s.image = ns, images[ns.Name]
			c.retrack(s, &old)
		}
	}
	for _, s := range added {
		c.track(s)
		c.services[s.spec.Name] = s
		c.emit(s.spec.Name, "", "added", "desired %d", s.desired)
	}
	keep := map[string]bool{}
	var order []string
	for _, s := range f.StartOrder() {
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
	c.opts.Fleet = f
	c.discovery()
	c.publish()
	return nil
}

// desiredOf is a service's desired count as stored, or its file's count.
func desiredOf(s *fleetfile.Service, stored map[string]int) int {
	if n, ok := stored[s.Name]; ok {
		return n
	}
	return s.Instances
}
