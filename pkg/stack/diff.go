package stack

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/limits"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// identity are the fields of each resource (by JSON path) that say which
// resource it is, or what the store keeps about it (a listener's bound
// address), rather than what is desired: Diff passes them over. Every other field is compared; a test walks
// them all.
var identity = map[string][]string{
	api.ResourceFleet:          {"name", "groups", "status", "generation", "updated"},
	api.ResourceLaunchTemplate: {"template", "version", "created"},
	api.ResourceGroup:          {"name", "fleet", "service", "launch_template", "launch_template_version", "target_group", "load_balancer", "file_desired"},
	api.ResourceTargetGroup:    {"name"},
	api.ResourceLoadBalancer:   {"name", "listener.bound"},
}

// Diff lists what making next out of cur changes, one line a resource,
// like `terraform plan`; a nil cur is a new fleet. next has inherited
// from cur (Inherit), so a count set by scale shows as a change only
// where the file's own count changed.
func Diff(cur, next *Stack) []api.Change {
	var out []api.Change
	add := func(action, res, name, detail string) {
		out = append(out, api.Change{Action: action, Resource: res, Name: name, Detail: detail})
	}
	fleet := next.Fleet.Name
	if cur == nil {
		add(api.Create, api.ResourceFleet, fleet, fmt.Sprintf("%d services from %s, time scale %g", len(next.Services), next.Fleet.File, next.Fleet.TimeScale))
	} else if d := fieldChanges(api.ResourceFleet, cur.Fleet, next.Fleet); d != "" {
		if cur.Fleet.TimeScale != next.Fleet.TimeScale {
			d += " (every period changes; the balancers restart, the instances stay)"
		}
		add(api.Update, api.ResourceFleet, fleet, d)
	}
	for _, s := range next.Services {
		name := s.Group.Name
		var old *Service
		if cur != nil {
			old = cur.Service(s.Name)
		}
		if old == nil {
			lt, g, tg := s.LaunchTemplate, s.Group, s.TargetGroup
			add(api.Create, api.ResourceLaunchTemplate, name, fmt.Sprintf("image %s, cpu %g, memory %s", short(lt.ImageDigest), lt.CPU, limits.FormatSize(lt.MemoryBytes)))
			add(api.Create, api.ResourceGroup, name, fmt.Sprintf("desired %d, bounds %d..%d, %d target tracking policies; %s", g.Desired, g.Min, g.Max, len(g.Policies), groupRuns(next, g)))
			add(api.Create, api.ResourceTargetGroup, name, fmt.Sprintf("%s check %s; deregistration delay runs %v", tg.HealthCheck.Type, asRun(next, s), limits.Scaled(tg.DeregistrationDelay, next.Fleet.TimeScale)))
			add(api.Create, api.ResourceLoadBalancer, name, "listen "+s.LoadBalancer.Listener.Listen)
			continue
		}
		if d := fieldChanges(api.ResourceLaunchTemplate, old.LaunchTemplate, s.LaunchTemplate); d != "" {
			add(api.Update, api.ResourceLaunchTemplate, name, d+" (rolls every instance, launch before terminate)")
		}
		if d := fieldChanges(api.ResourceGroup, old.Group, s.Group); d != "" {
			add(api.Update, api.ResourceGroup, name, d+"; "+groupRuns(next, s.Group))
		}
		if d := fieldChanges(api.ResourceTargetGroup, old.TargetGroup, s.TargetGroup); d != "" {
			add(api.Update, api.ResourceTargetGroup, name, fmt.Sprintf("%s; check %s, deregistration delay runs %v (the instances stay)",
				d, asRun(next, s), limits.Scaled(s.TargetGroup.DeregistrationDelay, next.Fleet.TimeScale)))
		}
		if d := fieldChanges(api.ResourceLoadBalancer, old.LoadBalancer, s.LoadBalancer); d != "" {
			add(api.Update, api.ResourceLoadBalancer, name, d+" (the instances stay)")
		}
	}
	if cur != nil {
		for _, s := range cur.Services {
			if next.Service(s.Name) == nil {
				name := s.Group.Name
				add(api.Delete, api.ResourceGroup, name, fmt.Sprintf("drains its %d instances", s.Group.Desired))
				add(api.Delete, api.ResourceLaunchTemplate, name, "")
				add(api.Delete, api.ResourceTargetGroup, name, "")
				add(api.Delete, api.ResourceLoadBalancer, name, "")
			}
		}
	}
	return out
}

// asRun is a service's health check periods as the fleet runs them.
func asRun(st *Stack, s Service) string {
	hc := s.TargetGroup.HealthCheck
	return "runs " + limits.RunHealthPeriods(hc.Interval, hc.Timeout, hc.UnhealthyThreshold, st.Fleet.TimeScale, limits.EmulationFloors()).String()
}

// groupRuns is a group's periods as the fleet runs them.
func groupRuns(st *Stack, g store.Group) string {
	out := fmt.Sprintf("grace period runs %v", limits.ScaledGracePeriod(g.HealthCheckGracePeriod, st.Fleet.TimeScale))
	if g.Scaling {
		out += fmt.Sprintf(", instance warm-up %v, a datapoint %v", limits.Scaled(g.InstanceWarmup, st.Fleet.TimeScale), limits.Scaled(time.Minute, st.Fleet.TimeScale))
	}
	return out
}

// TemplateChanges describes how two launch template versions differ, as
// Diff does: what a rollout from a to b changes.
func TemplateChanges(a, b *store.LaunchTemplateVersion) string {
	if d := fieldChanges(api.ResourceLaunchTemplate, *a, *b); d != "" {
		return d
	}
	return "nothing but the version"
}

// fieldChanges describes every field of a resource that differs between
// a and b, "path old -> new" by JSON name, joined by commas; "" when the
// resource is the same.
func fieldChanges(resource string, a, b any) string {
	var out []string
	walk("", reflect.ValueOf(a), reflect.ValueOf(b), identity[resource], &out)
	return strings.Join(out, ", ")
}

func walk(prefix string, a, b reflect.Value, skip []string, out *[]string) {
	t := a.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		path := prefix + name
		if name == "" || name == "-" || slices.Contains(skip, path) {
			continue
		}
		va, vb := a.Field(i), b.Field(i)
		switch {
		case f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Time]():
			walk(path+".", va, vb, skip, out)
		case f.Type.Kind() == reflect.Pointer && !va.IsNil() && !vb.IsNil():
			walk(path+".", va.Elem(), vb.Elem(), skip, out)
		case !same(va, vb):
			*out = append(*out, path+" "+describe(path, va, vb))
		}
	}
}

// same is equality in which nil and empty slices and maps are one value,
// as they are in the stored JSON.
func same(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Slice, reflect.Map:
		if a.Len() == 0 && b.Len() == 0 {
			return true
		}
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// describe says how a field changed. Maps name only the keys that changed
// and user data is not shown: either may hold a secret.
func describe(path string, a, b reflect.Value) string {
	switch {
	case a.Kind() == reflect.Map:
		var keys []string
		for _, k := range a.MapKeys() {
			if v := b.MapIndex(k); !v.IsValid() || !reflect.DeepEqual(v.Interface(), a.MapIndex(k).Interface()) {
				keys = append(keys, k.String())
			}
		}
		for _, k := range b.MapKeys() {
			if !a.MapIndex(k).IsValid() {
				keys = append(keys, k.String())
			}
		}
		slices.Sort(keys)
		return strings.Join(keys, " ") + " changed"
	case path == "user_data":
		return "changed"
	}
	return format(path, a) + " -> " + format(path, b)
}

func format(path string, v reflect.Value) string {
	switch {
	case v.Kind() == reflect.Pointer && v.IsNil():
		return "none"
	case v.Kind() == reflect.Pointer:
		return fmt.Sprintf("%+v", v.Elem().Interface())
	case strings.HasSuffix(path, "_bytes"):
		return limits.FormatSize(v.Int())
	case path == "image_digest":
		return short(v.String())
	case v.Kind() == reflect.String && v.String() == "":
		return `""`
	}
	return fmt.Sprint(v.Interface())
}

func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}
