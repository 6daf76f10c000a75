package controller

import (
	"sort"
)

// Status is a snapshot of the fleet, as `ps` and `up` show it.
type Status struct {
	Fleet    string          `json:"fleet"`
	File     string          `json:"file"`
	Down     bool            `json:"down"`
	Services []ServiceStatus `json:"services"`
}

// ServiceStatus is one service: its balancer and its instances.
type ServiceStatus struct {
	Name      string           `json:"name"`
	Image     string           `json:"image"`
	Digest    string           `json:"digest"`
	Listen    string           `json:"listen"`
	Desired   int              `json:"desired"`
	InService int              `json:"in_service"`
	Instances []InstanceStatus `json:"instances"`
}

// InstanceStatus is one instance as the controller sees it.
type InstanceStatus struct {
	ID       string `json:"id"`
	Domain   string `json:"domain"`
	Address  string `json:"address"`
	Phase    string `json:"phase"`
	Health   string `json:"health"`
	Outdated bool   `json:"outdated,omitempty"`
	Console  string `json:"console"`
}

// Ready reports whether every service has its desired count in service,
// all of the current image.
func (s Status) Ready() bool {
	if len(s.Services) == 0 {
		return false
	}
	for _, svc := range s.Services {
		current := 0
		for _, i := range svc.Instances {
			if i.Phase == inService.String() && !i.Outdated {
				current++
			}
		}
		if current < svc.Desired {
			return false
		}
	}
	return true
}

// publish refreshes the snapshot readers see; owner goroutine only.
func (c *Controller) publish() {
	st := Status{Fleet: c.opts.Fleet.Name, File: c.opts.Fleet.File, Down: c.down}
	for _, name := range c.order {
		s := c.services[name]
		ss := ServiceStatus{Name: name, Listen: s.listen, Desired: s.desired, Instances: []InstanceStatus{}}
		if s.removed {
			ss.Desired = 0
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
			is := InstanceStatus{ID: key, Phase: m.phase.String(), Health: "-", Outdated: s.image != nil && m.digest != s.image.Digest && m.phase != launching}
			if inst := s.insts[key]; inst != nil {
				is.Domain, is.Address, is.Console = inst.Domain, inst.Address, inst.Console
				if h, ok := healthOf[inst.Address]; ok {
					is.Health = h
				}
			}
			if m.phase == inService {
				ss.InService++
			}
			ss.Instances = append(ss.Instances, is)
		}
		sort.Slice(ss.Instances, func(i, j int) bool { return ss.Instances[i].ID < ss.Instances[j].ID })
		st.Services = append(st.Services, ss)
	}
	c.mu.Lock()
	c.status = st
	c.mu.Unlock()
}

// Status returns the latest snapshot; safe from any goroutine.
func (c *Controller) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}
