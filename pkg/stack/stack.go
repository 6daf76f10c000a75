// Package stack is a fleet's desired state as the AWS resources it
// compiles to, the way a CloudFormation template compiles into a stack:
// for each service a launch template version, an Auto Scaling group and a
// target group. The fleet file is one way to write a stack (Compile); the
// store keeps it (Save, Load); Diff compares two field by field, so a
// field added to a resource is compared without anyone remembering to.
package stack

import (
	"fmt"
	"maps"
	"slices"

	"github.com/vmfleet/vmfleet/pkg/fleetfile"
	"github.com/vmfleet/vmfleet/pkg/limits"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// Stack is one fleet's resources.
type Stack struct {
	Fleet store.Fleet
	// Services in start order: each after the services it depends on
	// (the file's order otherwise), as controllers start them and down
	// stops them in reverse.
	Services []Service
}

// Service is the resources of one service, all named ResourceName.
type Service struct {
	Name           string
	LaunchTemplate store.LaunchTemplateVersion
	Group          store.Group
	TargetGroup    store.TargetGroup
	LoadBalancer   store.LoadBalancer
}

// ResourceName names every resource of a fleet's service.
func ResourceName(fleet, service string) string { return fleet + "-" + service }

// Service returns the named service, or nil.
func (s *Stack) Service(name string) *Service {
	for i := range s.Services {
		if s.Services[i].Name == name {
			return &s.Services[i]
		}
	}
	return nil
}

// Compile turns a fleet file into its resources, with the image digest
// each service bakes to. What only a running fleet knows (a balancer's
// bound address, counts set by scale) comes from Inherit.
func Compile(f *fleetfile.Fleet, digests map[string]string, bootCPUs float64) Stack {
	st := Stack{Fleet: store.Fleet{Name: f.Name, File: f.File, BootCPUs: bootCPUs, TimeScale: f.TimeScale}}
	for _, svc := range f.StartOrder() {
		name := ResourceName(f.Name, svc.Name)
		st.Fleet.Groups = append(st.Fleet.Groups, name)
		s := Service{
			Name: svc.Name,
			LaunchTemplate: store.LaunchTemplateVersion{
				Template: name, ImageDigest: digests[svc.Name], Command: svc.Command, Env: svc.Env, Port: svc.Port,
				CPU: svc.CPU, MemoryBytes: svc.MemoryBytes, UserData: svc.UserData, DependsOn: svc.DependsOn,
				Egress:          store.Egress{HostPorts: svc.Egress.HostPorts, Internet: svc.Egress.Internet},
				MetadataOptions: svc.MetadataOptions,
			},
			LoadBalancer: store.LoadBalancer{Name: name, Listener: store.Listener{Listen: svc.Balancer.Listen, TargetGroup: name}},
			TargetGroup: store.TargetGroup{
				Name:                name,
				HealthCheck:         svc.Health,
				DeregistrationDelay: svc.Balancer.DeregistrationDelay, Replay: svc.Balancer.Replay,
			},
			Group: store.Group{
				Name: name, Fleet: f.Name, Service: svc.Name, LaunchTemplate: name, TargetGroup: name, LoadBalancer: name,
				Desired: svc.Instances, FileDesired: svc.Instances,
				HealthCheckType: store.GroupHealthELB, HealthCheckGracePeriod: limits.DefaultHealthCheckGracePeriod,
				TerminationPolicies: []string{limits.TerminationDefault},
			},
		}
		g := &s.Group
		g.Min, g.Max = svc.Bounds()
		if sc := svc.Scaling; sc != nil {
			g.Scaling, g.InstanceWarmup, g.DisableScaleIn = true, sc.InstanceWarmup, sc.DisableScaleIn
			if len(sc.TerminationPolicies) > 0 {
				g.TerminationPolicies = sc.TerminationPolicies
			}
			for _, p := range sc.TargetTracking {
				g.Policies = append(g.Policies, store.TargetTrackingPolicy{Metric: p.Metric, Target: p.Target})
			}
		}
		if wp := svc.WarmPool; wp != nil {
			g.WarmPool = &store.WarmPool{MinSize: wp.MinSize, MaxGroupPreparedCapacity: wp.MaxGroupPreparedCapacity,
				PoolState: wp.PoolState, ReuseOnScaleIn: wp.ReuseOnScaleIn}
		}
		st.Services = append(st.Services, s)
	}
	return st
}

// Inherit carries over from cur, the stack a fleet runs, what a new
// compile of its file cannot know: the address each balancer is bound to
// (dependents were told it) while its listen address is unchanged, and a
// count set by scale, which stands until the file's own
// count changes (store.Group.ApplyFileCount), within the group's new
// bounds as UpdateAutoScalingGroup keeps it.
func (s *Stack) Inherit(cur *Stack) {
	if cur == nil {
		return
	}
	s.Fleet.Generation = cur.Fleet.Generation
	for i := range s.Services {
		next := &s.Services[i]
		old := cur.Service(next.Name)
		if old == nil {
			continue
		}
		g := old.Group
		g.ApplyFileCount(next.Group.FileDesired)
		next.Group.Desired = min(max(g.Desired, next.Group.Min), next.Group.Max)
		next.Group.LaunchTemplateVersion = old.Group.LaunchTemplateVersion
		if ol, nl := &old.LoadBalancer.Listener, &next.LoadBalancer.Listener; ol.Listen == nl.Listen {
			nl.Bound = ol.Bound
		}
	}
}

// SetDesired sets the desired counts of services, all or nothing, as
// SetDesiredCapacity does: each within its group's bounds.
func (s *Stack) SetDesired(counts map[string]int) error {
	for _, name := range slices.Sorted(maps.Keys(counts)) {
		svc := s.Service(name)
		if svc == nil {
			return fmt.Errorf("scale: fleet %s has no service %q; nothing was changed", s.Fleet.Name, name)
		}
		g := svc.Group
		if err := limits.CheckDesired(name, counts[name], g.Min, g.Max, g.Scaling); err != nil {
			return err
		}
	}
	for name, n := range counts {
		s.Service(name).Group.Desired = n
	}
	return nil
}

// Clone is a copy of s whose services can be changed without changing s's.
func (s *Stack) Clone() *Stack {
	cp := *s
	cp.Services = slices.Clone(s.Services)
	return &cp
}

// Digests are each service's image digest.
func (s *Stack) Digests() map[string]string {
	return each(s, func(v *Service) string { return v.LaunchTemplate.ImageDigest })
}

// Bound are the addresses the balancers are bound to, by service; only
// services whose balancer is bound.
func (s *Stack) Bound() map[string]string {
	out := each(s, func(v *Service) string { return v.LoadBalancer.Listener.Bound })
	maps.DeleteFunc(out, func(_, addr string) bool { return addr == "" })
	return out
}

func each[T any](s *Stack, f func(*Service) T) map[string]T {
	out := make(map[string]T, len(s.Services))
	for i := range s.Services {
		out[s.Services[i].Name] = f(&s.Services[i])
	}
	return out
}
