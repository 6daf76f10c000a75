package stack

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/fleetfile"
	"github.com/vmfleet/vmfleet/pkg/limits"
	"github.com/vmfleet/vmfleet/pkg/store"
)

const digest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// full is a stack of one service whose every field is set, its names
// consistent as Save needs them.
func full() Stack {
	var s Service
	fill(reflect.ValueOf(&s).Elem())
	var f store.Fleet
	fill(reflect.ValueOf(&f).Elem())
	f.Name, s.Name = "shop", "web"
	name := ResourceName(f.Name, s.Name)
	f.Groups = []string{name}
	s.LaunchTemplate.Template, s.LaunchTemplate.ImageDigest = name, digest
	s.Group.Name, s.Group.Fleet, s.Group.Service, s.Group.LaunchTemplate, s.Group.TargetGroup = name, f.Name, s.Name, name, name
	s.TargetGroup.Name, s.LoadBalancer.Name, s.Group.LoadBalancer = name, name, name
	return Stack{Fleet: f, Services: []Service{s}}
}

// resources are the resource types of a stack, each with where it sits.
var resources = []struct {
	name string
	typ  reflect.Type
	at   func(*Stack) reflect.Value
}{
	{api.ResourceFleet, reflect.TypeFor[store.Fleet](), func(s *Stack) reflect.Value { return reflect.ValueOf(&s.Fleet).Elem() }},
	{api.ResourceLaunchTemplate, reflect.TypeFor[store.LaunchTemplateVersion](), func(s *Stack) reflect.Value {
		return reflect.ValueOf(&s.Services[0].LaunchTemplate).Elem()
	}},
	{api.ResourceGroup, reflect.TypeFor[store.Group](), func(s *Stack) reflect.Value { return reflect.ValueOf(&s.Services[0].Group).Elem() }},
	{api.ResourceTargetGroup, reflect.TypeFor[store.TargetGroup](), func(s *Stack) reflect.Value {
		return reflect.ValueOf(&s.Services[0].TargetGroup).Elem()
	}},
	{api.ResourceLoadBalancer, reflect.TypeFor[store.LoadBalancer](), func(s *Stack) reflect.Value {
		return reflect.ValueOf(&s.Services[0].LoadBalancer).Elem()
	}},
}

// isIdentity: the field at path, or a struct it is in, is identity.
func isIdentity(resource, path string) bool {
	for p := path; ; p = p[:strings.LastIndex(p, ".")] {
		if slices.Contains(identity[resource], p) {
			return true
		}
		if !strings.Contains(p, ".") {
			return false
		}
	}
}

// clone copies a stack deeply enough for change, which replaces slices
// and maps rather than writing into them.
func clone(s Stack) Stack {
	s.Services = slices.Clone(s.Services)
	for i := range s.Services {
		g := &s.Services[i].Group
		if wp := g.WarmPool; wp != nil {
			cp := *wp
			g.WarmPool = &cp
		}
		if r := g.Refresh; r != nil {
			cp := *r
			g.Refresh = &cp
		}
	}
	return s
}

func TestDiffReportsAChangeToEveryFieldOfEveryResource(t *testing.T) {
	base := full()
	for _, r := range resources {
		for _, l := range leaves(r.typ) {
			next := clone(base)
			l.change(r.at(&next))
			got := Diff(&base, &next)
			if isIdentity(r.name, l.path) {
				if len(got) != 0 {
					t.Errorf("%s %s is identity, yet a change to it is reported: %v", r.name, l.path, got)
				}
				continue
			}
			if len(got) != 1 || got[0].Resource != r.name || got[0].Action != api.Update || !strings.Contains(got[0].Detail, l.path) {
				t.Errorf("a change to %s %s: got %v, want one update of the %s naming %s", r.name, l.path, got, r.name, l.path)
			}
		}
	}
}

// What Diff passes over is said here a second time, so that widening it
// (and so hiding a desired field from diff and up) takes a change here.
func TestIdentityIsWhatSaysWhichResourceItIs(t *testing.T) {
	want := map[string][]string{
		api.ResourceFleet:          {"name", "groups", "status", "generation", "updated"},
		api.ResourceLaunchTemplate: {"template", "version", "created"},
		api.ResourceGroup:          {"name", "fleet", "service", "launch_template", "launch_template_version", "target_group", "load_balancer", "file_desired"},
		api.ResourceTargetGroup:    {"name"},
		api.ResourceLoadBalancer:   {"name", "listener.bound"},
	}
	if !reflect.DeepEqual(identity, want) {
		t.Errorf("identity is %v, want %v", identity, want)
	}
	for _, r := range resources {
		var paths []string
		for _, l := range leaves(r.typ) {
			paths = append(paths, l.path)
		}
		for _, id := range identity[r.name] {
			if !slices.Contains(paths, id) {
				t.Errorf("%s has no field %s", r.name, id)
			}
		}
	}
}

func TestSaveAndLoadKeepEveryField(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for _, r := range resources {
		for _, l := range leaves(r.typ) {
			st := full()
			if !isIdentity(r.name, l.path) {
				l.change(r.at(&st)) // each field in turn with a value of its own
			}
			if l.path == "image_digest" {
				st.Services[0].LaunchTemplate.ImageDigest = strings.Repeat("f", 64) // the store takes only digests
			}
			saved := clone(st)
			if err := db.Update(ctx, func(tx *store.Tx) error { return Save(tx, &saved) }); err != nil {
				t.Fatalf("save with %s %s changed: %v", r.name, l.path, err)
			}
			var got Stack
			if err := db.View(ctx, func(tx *store.Tx) error { got, err = Load(tx, "shop"); return err }); err != nil {
				t.Fatal(err)
			}
			if d := Diff(&saved, &got); len(d) != 0 || !reflect.DeepEqual(saved, got) {
				t.Errorf("with %s %s changed, load gave back another stack: %v\nsaved %+v\nloaded %+v", r.name, l.path, d, saved, got)
			}
		}
	}
}

// Compile carries every field of a fleet file's service into the
// resources: changing any one (but the image's recipe, which its digest
// stands for) changes the stack. A field added to fleetfile.Service that
// Compile forgets fails here.
func TestCompileCarriesEveryFieldOfTheFleetFile(t *testing.T) {
	var svc fleetfile.Service
	fill(reflect.ValueOf(&svc).Elem())
	svc.Scaling.TerminationPolicies = []string{limits.TerminationOldestInstance}
	compile := func(s fleetfile.Service) Stack {
		f := &fleetfile.Fleet{Name: "shop", File: "/srv/shop/fleet.yaml", Dir: "/srv/shop", TimeScale: 0.05, Services: []*fleetfile.Service{&s}}
		return Compile(f, map[string]string{s.Name: digest}, 2)
	}
	base := compile(svc)
	for _, l := range fieldsOf(reflect.TypeFor[fleetfile.Service]()) {
		if strings.HasPrefix(l.path, "Image") {
			continue // the recipe: the digest stands for it
		}
		next := svc
		next.Scaling, next.WarmPool = ptr(*svc.Scaling), ptr(*svc.WarmPool)
		l.change(reflect.ValueOf(&next).Elem())
		if got := compile(next); reflect.DeepEqual(got, base) {
			t.Errorf("a change to the fleet file's %s changes no resource: Compile forgets it", l.path)
		}
	}
}

func ptr[T any](v T) *T { return &v }
