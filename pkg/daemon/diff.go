package daemon

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/fleetfile"
)

// Short names for the resources of api.
const (
	resFleet          = api.ResourceFleet
	resLaunchTemplate = api.ResourceLaunchTemplate
	resGroup          = api.ResourceGroup
	resTargetGroup    = api.ResourceTargetGroup
)

// desired is a fleet file with the digests its images bake to.
type desired struct {
	spec    *fleetfile.Fleet
	digests map[string]string
}

// diff lists what applying next over cur changes, like `terraform plan`.
// A nil cur is a new fleet. Scaled counts stand (see record.Desired), so a
// count change shows only where the file's own count changed.
func diff(cur *record, next desired) []api.Change {
	var out []api.Change
	add := func(action, res, name, format string, args ...any) {
		out = append(out, api.Change{Action: action, Resource: res, Name: name, Detail: fmt.Sprintf(format, args...)})
	}
	fleet := next.spec.Name
	if cur == nil {
		add(api.Create, resFleet, fleet, "%d services from %s, time scale %g", len(next.spec.Services), next.spec.File, next.spec.TimeScale)
	} else if cur.Spec.TimeScale != next.spec.TimeScale {
		add(api.Update, resFleet, fleet, "time_scale %g -> %g (every period changes; the balancers restart, the instances stay)", cur.Spec.TimeScale, next.spec.TimeScale)
	}
	for _, s := range next.spec.StartOrder() {
		name := fleet + "-" + s.Name
		var old *fleetfile.Service
		if cur != nil {
			old = cur.Spec.Service(s.Name)
		}
		if old == nil {
			lo, hi := s.Bounds()
			add(api.Create, resLaunchTemplate, name, "image %s, cpu %g, memory %s", short(next.digests[s.Name]), s.CPU, mib(s.MemoryBytes))
			add(api.Create, resGroup, name, "desired %d, bounds %d..%d, %d target tracking policies", s.Instances, lo, hi, policies(s))
			add(api.Create, resTargetGroup, name, "listen %s, %s check", s.Balancer.Listen, s.Health.Type)
			continue
		}
		if d := templateDiff(old, s, cur.Images[s.Name], next.digests[s.Name]); d != "" {
			add(api.Update, resLaunchTemplate, name, "%s (rolls every instance, launch before terminate)", d)
		}
		if fc := cur.FileCounts[s.Name]; fc != s.Instances {
			add(api.Update, resGroup, name, "desired %d -> %d", cur.Desired[s.Name], s.Instances)
		}
		if !reflect.DeepEqual(old.Balancer, s.Balancer) || !reflect.DeepEqual(old.Health, s.Health) {
			add(api.Update, resTargetGroup, name, "balancer or health check changed")
		}
		if !reflect.DeepEqual(old.Scaling, s.Scaling) {
			lo, hi := s.Bounds()
			add(api.Update, resGroup, name, "scaling: bounds %d..%d, %d target tracking policies", lo, hi, policies(s))
		}
		if !slices.Equal(old.DependsOn, s.DependsOn) {
			add(api.Update, resGroup, name, "depends_on %v -> %v", old.DependsOn, s.DependsOn)
		}
	}
	if cur != nil {
		for _, s := range cur.Spec.Services {
			if next.spec.Service(s.Name) == nil {
				name := fleet + "-" + s.Name
				add(api.Delete, resGroup, name, "drains its %d instances", cur.Desired[s.Name])
				add(api.Delete, resLaunchTemplate, name, "")
				add(api.Delete, resTargetGroup, name, "")
			}
		}
	}
	return out
}

// templateDiff says what changed in a launch template, or "".
func templateDiff(old, s *fleetfile.Service, oldDigest, digest string) string {
	var d []string
	if oldDigest != digest {
		d = append(d, fmt.Sprintf("image %s -> %s", short(oldDigest), short(digest)))
	}
	if old.CPU != s.CPU {
		d = append(d, fmt.Sprintf("cpu %g -> %g", old.CPU, s.CPU))
	}
	if old.MemoryBytes != s.MemoryBytes {
		d = append(d, fmt.Sprintf("memory %s -> %s", mib(old.MemoryBytes), mib(s.MemoryBytes)))
	}
	return strings.Join(d, ", ")
}

func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}

func mib(b int64) string { return fmt.Sprintf("%dMiB", b>>20) }

func policies(s *fleetfile.Service) int {
	if s.Scaling == nil {
		return 0
	}
	return len(s.Scaling.TargetTracking)
}
