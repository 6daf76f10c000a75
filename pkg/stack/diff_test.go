package stack

import (
	"strings"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/fleetfile"
)

const base = `name: shop
services:
  web:
    image: {binary: ./web}
    command: [/app/web]
    port: 8080
    instances: 2
    cpu: 0.5
`

// compiled is a fleet file's stack, every image baked to digest, carrying
// over what cur ran.
func compiled(t *testing.T, yaml, digest string, cur *Stack) Stack {
	t.Helper()
	f, err := fleetfile.Parse("/x/fleet.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	digests := map[string]string{}
	for _, s := range f.Services {
		digests[s.Name] = digest
	}
	st := Compile(f, digests, 0)
	st.Inherit(cur)
	return st
}

func lines(ch []api.Change) string {
	var out []string
	for _, c := range ch {
		out = append(out, c.String())
	}
	return strings.Join(out, "\n")
}

func TestDiffSaysWhatAnApplyWouldChangeLikeAPlan(t *testing.T) {
	cur := compiled(t, base, "aaaa", nil)
	for _, tc := range []struct {
		name, yaml, digest string
		want               []string // substrings, in order; none for no change
	}{
		{"nothing", base, "aaaa", nil},
		{"image", base, "bbbb", []string{"~ launch-template shop-web: image_digest aaaa -> bbbb (rolls"}},
		{"cpu", strings.Replace(base, "cpu: 0.5", "cpu: 1", 1), "aaaa", []string{"~ launch-template shop-web: cpu 0.5 -> 1"}},
		{"memory", base + "    memory: 128MiB\n", "aaaa", []string{"~ launch-template shop-web: memory_bytes 256MiB -> 128MiB"}},
		{"count", strings.Replace(base, "instances: 2", "instances: 4", 1), "aaaa", []string{"~ group shop-web: desired 2 -> 4"}},
		{"user data", base + "    user_data: \"#!/bin/sh\\necho secret\\n\"\n", "aaaa", []string{"~ launch-template shop-web: user_data changed (rolls"}},
		{"egress", base + "    egress: {host_ports: [5432]}\n", "aaaa", []string{"~ launch-template shop-web: egress.host_ports [] -> [5432] (rolls"}},
		{"internet", base + "    egress: {internet: true}\n", "aaaa", []string{"~ launch-template shop-web: egress.internet false -> true"}},
		{"env", base + "    env: {TOKEN: s3cret}\n", "aaaa", []string{"~ launch-template shop-web: env TOKEN changed"}},
		{"warm pool", base + "    warm_pool: {min_size: 2}\n", "aaaa", []string{"~ group shop-web: warm_pool none -> {MinSize:2"}},
		// The periods as they will run: AWS's 10s at the default scale is
		// 500ms, raised to the 1s floor.
		{"health", base + "    health: {interval: 10s}\n", "aaaa",
			[]string{"~ target-group shop-web: health_check.interval 30s -> 10s; check runs every 1s, timeout 800ms, silence 5s"}},
		{"added", base + "  api:\n    image: {binary: ./api}\n    command: [/app/api]\n    port: 9090\n", "aaaa",
			[]string{"+ launch-template shop-api", "+ group shop-api: desired 1, bounds 0..100, 0 target tracking policies; grace period runs 1m0s",
				"+ target-group shop-api: http check runs every 1.5s, timeout 1s, silence 5s; deregistration delay runs 15s", "+ load-balancer shop-api: listen 127.0.0.1:0"}},
		{"scaling", base + "    scaling: {min: 1, max: 4, instance_warmup: 60s}\n", "aaaa",
			[]string{"~ group shop-web: min 0 -> 1, max 100 -> 4, scaling false -> true, instance_warmup 0s -> 1m0s; grace period runs 1m0s, instance warm-up 3s, a datapoint 3s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := compiled(t, tc.yaml, tc.digest, &cur)
			got := lines(Diff(&cur, &next))
			if len(tc.want) == 0 && got != "" {
				t.Errorf("want no change, got:\n%s", got)
			}
			if strings.Contains(got, "s3cret") || strings.Contains(got, "echo") {
				t.Errorf("the plan shows a secret:\n%s", got)
			}
			rest := got
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("want %q in:\n%s", w, got)
					break
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestDiffOfANewFleetCreatesEverything(t *testing.T) {
	next := compiled(t, base, "aaaa", nil)
	got := lines(Diff(nil, &next))
	for _, w := range []string{"+ fleet shop", "+ launch-template shop-web", "+ group shop-web: desired 2", "+ target-group shop-web", "+ load-balancer shop-web"} {
		if !strings.Contains(got, w) {
			t.Errorf("want %q in:\n%s", w, got)
		}
	}
}

func TestARemovedServiceIsDeleted(t *testing.T) {
	cur := compiled(t, base+"  api:\n    image: {binary: ./api}\n    command: [/app/api]\n    port: 9090\n", "aaaa", nil)
	next := compiled(t, base, "aaaa", &cur)
	got := lines(Diff(&cur, &next))
	if !strings.Contains(got, "- group shop-api") || strings.Contains(got, "shop-web") {
		t.Errorf("want only shop-api deleted, got:\n%s", got)
	}
}

func TestAScaledCountStandsUntilTheFilesCountChanges(t *testing.T) {
	cur := compiled(t, base, "aaaa", nil)
	cur.Services[0].Group.Desired = 5 // vmfleet scale web=5
	if got := compiled(t, base, "aaaa", &cur).Services[0].Group.Desired; got != 5 {
		t.Errorf("re-applying the same file reset a scaled count to %d", got)
	}
	if got := compiled(t, strings.Replace(base, "instances: 2", "instances: 3", 1), "aaaa", &cur).Services[0].Group.Desired; got != 3 {
		t.Errorf("a changed file count gave desired %d, want 3", got)
	}
	scaled := base + "    scaling: {min: 1, max: 4}\n"
	if got := compiled(t, strings.Replace(scaled, "instances: 2", "instances: 2", 1), "aaaa", &cur).Services[0].Group.Desired; got != 4 {
		t.Errorf("a scaled count above the group's new max gave desired %d, want the max, 4", got)
	}
}

func TestABoundBalancerAddressStandsWhileItsListenAddressIsUnchanged(t *testing.T) {
	cur := compiled(t, base, "aaaa", nil)
	cur.Services[0].LoadBalancer.Listener.Bound = "127.0.0.1:41234"
	if got := compiled(t, base, "aaaa", &cur).Services[0].LoadBalancer.Listener.Bound; got != "127.0.0.1:41234" {
		t.Errorf("bound %q after re-applying the file, want the running balancer's", got)
	}
	moved := base + "    balancer: {listen: 127.0.0.1:9000}\n"
	if got := compiled(t, moved, "aaaa", &cur).Services[0].LoadBalancer.Listener.Bound; got != "" {
		t.Errorf("bound %q after the listen address changed, want none yet", got)
	}
}

// A scale is SetDesiredCapacity: within each group's bounds, all or
// nothing.
func TestSetDesiredIsAllOrNothingWithinEachGroupsBounds(t *testing.T) {
	st := compiled(t, base+"    scaling: {min: 1, max: 3}\n  api:\n    image: {binary: ./api}\n    command: [/app/api]\n    port: 9090\n", "aaaa", nil)
	for _, tc := range []struct {
		counts map[string]int
		err    string
	}{
		{map[string]int{"web": 3, "api": 7}, ""},
		{map[string]int{"web": 4, "api": 1}, "scale web=4: outside the group's bounds 1..3"},
		{map[string]int{"api": 101}, "a group holds at most 100 instances"},
		{map[string]int{"api": -1}, "the count cannot be negative"},
		{map[string]int{"nosuch": 1}, `fleet shop has no service "nosuch"`},
	} {
		next := st.Clone()
		err := next.SetDesired(tc.counts)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%v: %v", tc.counts, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%v: got %v, want %q", tc.counts, err, tc.err)
		case tc.err != "" && (next.Service("web").Group.Desired != 2 || next.Service("api").Group.Desired != 1):
			t.Errorf("%v was refused, yet changed a count", tc.counts)
		case tc.err == "" && (next.Service("web").Group.Desired != 3 || next.Service("api").Group.Desired != 7):
			t.Errorf("%v: desired %d and %d", tc.counts, next.Service("web").Group.Desired, next.Service("api").Group.Desired)
		}
	}
	if st.Service("web").Group.Desired != 2 {
		t.Errorf("a clone's scale changed the stack it was cloned from")
	}
}
