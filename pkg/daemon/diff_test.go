package daemon

import (
	"strings"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/fleetfile"
	"github.com/vmfleet/vmfleet/pkg/image"
)

func parsed(t *testing.T, yaml string) *fleetfile.Fleet {
	t.Helper()
	f, err := fleetfile.Parse("/x/fleet.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

const base = `name: shop
services:
  web:
    image: {binary: ./web}
    command: [/app/web]
    port: 8080
    instances: 2
    cpu: 0.5
`

func applied(t *testing.T, yaml string, digest string) *record {
	f := parsed(t, yaml)
	images := map[string]*image.Manifest{}
	for _, s := range f.Services {
		images[s.Name] = &image.Manifest{Digest: digest}
	}
	return nextRecord(nil, f, images, 0)
}

func lines(ch []api.Change) string {
	var out []string
	for _, c := range ch {
		out = append(out, c.String())
	}
	return strings.Join(out, "\n")
}

func TestDiffSaysWhatAnApplyWouldChangeLikeAPlan(t *testing.T) {
	cur := applied(t, base, "aaaa")
	for _, tc := range []struct {
		name, yaml, digest string
		want               []string // substrings, in order; none for no change
	}{
		{"nothing", base, "aaaa", nil},
		{"image", base, "bbbb", []string{"~ launch-template shop-web: image aaaa -> bbbb (rolls"}},
		{"cpu", strings.Replace(base, "cpu: 0.5", "cpu: 1", 1), "aaaa", []string{"~ launch-template shop-web: cpu 0.5 -> 1"}},
		{"count", strings.Replace(base, "instances: 2", "instances: 4", 1), "aaaa", []string{"~ group shop-web: desired 2 -> 4"}},
		{"health", base + "    health: {interval: 10s}\n", "aaaa", []string{"~ target-group shop-web: balancer or health check changed"}},
		{"added", base + "  api:\n    image: {binary: ./api}\n    command: [/app/api]\n    port: 9090\n", "aaaa",
			[]string{"+ launch-template shop-api", "+ group shop-api: desired 1", "+ target-group shop-api"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := parsed(t, tc.yaml)
			next := desired{spec: f, digests: map[string]string{"web": tc.digest, "api": "cccc"}}
			got := lines(diff(cur, next))
			if len(tc.want) == 0 && got != "" {
				t.Errorf("want no change, got:\n%s", got)
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
	got := lines(diff(nil, desired{spec: parsed(t, base), digests: map[string]string{"web": "aaaa"}}))
	for _, w := range []string{"+ fleet shop", "+ launch-template shop-web", "+ group shop-web: desired 2", "+ target-group shop-web"} {
		if !strings.Contains(got, w) {
			t.Errorf("want %q in:\n%s", w, got)
		}
	}
}

func TestARemovedServiceIsDeleted(t *testing.T) {
	cur := applied(t, base+"  api:\n    image: {binary: ./api}\n    command: [/app/api]\n    port: 9090\n", "aaaa")
	got := lines(diff(cur, desired{spec: parsed(t, base), digests: map[string]string{"web": "aaaa"}}))
	if !strings.Contains(got, "- group shop-api") || strings.Contains(got, "shop-web") {
		t.Errorf("want only shop-api deleted, got:\n%s", got)
	}
}

func TestAScaledCountStandsUntilTheFilesCountChanges(t *testing.T) {
	cur := applied(t, base, "aaaa")
	cur.Desired["web"] = 5 // vmfleet scale web=5
	f := parsed(t, base)
	images := map[string]*image.Manifest{"web": {Digest: "aaaa"}}
	if got := nextRecord(cur, f, images, 0).Desired["web"]; got != 5 {
		t.Errorf("re-applying the same file reset a scaled count to %d", got)
	}
	f = parsed(t, strings.Replace(base, "instances: 2", "instances: 3", 1))
	if got := nextRecord(cur, f, images, 0).Desired["web"]; got != 3 {
		t.Errorf("a changed file count gave desired %d, want 3", got)
	}
}
