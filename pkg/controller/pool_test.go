package controller

import (
	"path/filepath"
	"time"

	"context"
	"github.com/vmfleet/vmfleet/pkg/instance"
	"slices"
	"strings"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

func pooledService(name string, instances int, pool string) string {
	return serviceYAML(name, instances, "hi") + "    scaling: {min: 0, max: 4}\n" +
		"    warm_pool: {min_size: 1, max_group_prepared_capacity: 3, " + pool + "}\n"
}

// phases counts a service's instances by phase.
func phases(st api.Fleet, name string) map[string][]string {
	s, _ := serviceOf(st, name)
	out := map[string][]string{}
	for _, i := range s.Instances {
		out[i.Phase] = append(out[i.Phase], i.ID)
	}
	return out
}

// For each pool state: the pool fills to what the prepared capacity
// leaves beside the group, its instances are never in the balancer, a
// scale-out takes them (and no new launch) and the pool refills.
func TestAWarmPoolFillsServesAScaleOutAndRefills(t *testing.T) {
	for _, tc := range []struct{ pool, warmed string }{
		{"pool_state: running", api.WarmedState("running")},
		{"pool_state: stopped", api.WarmedState("stopped")},
		{"pool_state: hibernated", api.WarmedState("hibernated")},
	} {
		t.Run(tc.warmed, func(t *testing.T) {
			h := start(t, pooledService("web", 1, tc.pool))
			// Capacity 3, 1 desired: a pool of 2.
			st := h.waitFor("a full pool", func(st api.Fleet) bool { return len(phases(st, "web")[tc.warmed]) == 2 })
			pool := phases(st, "web")[tc.warmed]
			web, _ := serviceOf(st, "web")
			if web.Warm != 2 || web.WarmPool == nil || web.WarmPool.Size != 2 {
				t.Errorf("service reports warm %d, pool %+v; want 2 warm of a pool of size 2", web.Warm, web.WarmPool)
			}
			for _, tg := range h.ctrl.Balancers()["web"].Targets() {
				for _, i := range web.Instances {
					if i.Address == tg.Addr && slices.Contains(pool, i.ID) {
						t.Errorf("warm pool instance %s is a balancer target", i.ID)
					}
				}
			}
			for _, i := range web.Instances {
				d, _ := h.fake.Domain(i.Domain)
				want := hypervisor.Running
				if tc.warmed != api.WarmedState("running") && slices.Contains(pool, i.ID) {
					want = hypervisor.Shutoff
				}
				if d.State != want {
					t.Errorf("instance %s (%s) domain %s, want %s", i.ID, i.Phase, d.State, want)
				}
			}
			if err := h.ctrl.Scale(context.Background(), map[string]int{"web": 2}); err != nil {
				t.Fatal(err)
			}
			st = h.waitFor("2 in service", func(st api.Fleet) bool { return len(phases(st, "web")[api.InService]) == 2 })
			serving := phases(st, "web")[api.InService]
			if !slices.ContainsFunc(serving, func(id string) bool { return slices.Contains(pool, id) }) {
				t.Errorf("in service %v, none from the pool %v", serving, pool)
			}
			// Capacity 3, 2 desired: the pool's min_size of 1 stays.
			h.waitFor("the pool at min_size", func(st api.Fleet) bool { return len(phases(st, "web")[tc.warmed]) == 1 })
			if got := h.get(t, "web"); !strings.HasPrefix(got, "hi from ") {
				t.Errorf("through the balancer: %q", got)
			}
		})
	}
}

func (h *harness) get(t *testing.T, service string) string {
	s, _ := serviceOf(h.ctrl.Status(), service)
	return get(t, s.Listen)
}

func TestScaleInWithReuseReturnsTheInstanceToThePool(t *testing.T) {
	h := start(t, pooledService("web", 2, "pool_state: running, reuse_on_scale_in: true"))
	h.waitFor("a full pool", func(st api.Fleet) bool { return len(phases(st, "web")[api.WarmedState("running")]) == 1 })
	serving := phases(h.ctrl.Status(), "web")[api.InService]
	if err := h.ctrl.Scale(context.Background(), map[string]int{"web": 1}); err != nil {
		t.Fatal(err)
	}
	st := h.waitFor("one serving, two warm", func(st api.Fleet) bool {
		p := phases(st, "web")
		return len(p[api.InService]) == 1 && len(p[api.WarmedState("running")]) == 2
	})
	warm := phases(st, "web")[api.WarmedState("running")]
	if !slices.ContainsFunc(serving, func(id string) bool { return slices.Contains(warm, id) }) {
		t.Errorf("warm %v holds none of the instances that served (%v)", warm, serving)
	}
}

// A controller started again (a daemon restart) takes its pool back from
// the domains' metadata: running members are checked again, saved ones
// wait on as they are, and none is taken for one of the group's.
func TestARestartedControllerTakesItsWarmPoolBack(t *testing.T) {
	for _, state := range []string{"running", "hibernated"} {
		t.Run(state, func(t *testing.T) {
			h := start(t, pooledService("web", 1, "pool_state: "+state))
			warmed := api.WarmedState(state)
			before := h.waitFor("a full pool", func(st api.Fleet) bool { return len(phases(st, "web")[warmed]) == 2 })
			h.cancel()
			if err := <-h.done; err != nil {
				t.Fatal(err)
			}
			f := parseFleet(t, h.dir, pooledService("web", 1, "pool_state: "+state))
			images := h.bake(f)
			ctrl := New(Options{Stack: h.stack(f, images), Images: images, HealthCheckGracePeriod: time.Minute,
				Instances: &instance.Manager{HV: h.fake, Dir: filepath.Join(h.dir, "instances"), Firewall: acceptingFirewall()}})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			if err := ctrl.Listen(ctx); err != nil {
				t.Fatal(err)
			}
			go func() { done <- ctrl.Run(ctx) }()
			t.Cleanup(func() { cancel(); h.done <- <-done })
			h.ctrl = ctrl
			after := h.waitFor("the pool adopted", func(st api.Fleet) bool {
				p := phases(st, "web")
				return len(p[warmed]) == 2 && len(p[api.InService]) == 1
			})
			for _, phase := range []string{warmed, api.InService} {
				was, is := phases(before, "web")[phase], phases(after, "web")[phase]
				slices.Sort(was)
				slices.Sort(is)
				if !slices.Equal(was, is) {
					t.Errorf("%s: %v before the restart, %v after", phase, was, is)
				}
			}
		})
	}
}
