package fleetfile_test

import (
	"testing"

	"github.com/vmfleet/vmfleet/pkg/fleetfile"
)

func TestWarmPoolDefaultsAreAWSs(t *testing.T) {
	f := mustParse(t, "/srv/shop/fleet.yaml", webService+`    warm_pool: {}
`)
	w := f.Service("web").WarmPool
	want := fleetfile.WarmPool{MinSize: 0, MaxGroupPreparedCapacity: -1, PoolState: "stopped"}
	if w == nil || *w != want {
		t.Fatalf("warm_pool: {} gives %+v, want %+v", w, want)
	}
	if f := mustParse(t, "/srv/shop/fleet.yaml", webService); f.Service("web").WarmPool != nil {
		t.Errorf("a service without warm_pool has one: %+v", f.Service("web").WarmPool)
	}
}

func TestWarmPoolReadsPutWarmPoolsFields(t *testing.T) {
	f := mustParse(t, "/srv/shop/fleet.yaml", webService+`    warm_pool:
      min_size: 2
      max_group_prepared_capacity: 5
      pool_state: Hibernated
      reuse_on_scale_in: true
`)
	want := fleetfile.WarmPool{MinSize: 2, MaxGroupPreparedCapacity: 5, PoolState: "hibernated", ReuseOnScaleIn: true}
	if w := f.Service("web").WarmPool; w == nil || *w != want {
		t.Fatalf("got %+v, want %+v", w, want)
	}
}

// warmPoolBadFiles are badFiles about a service's warm_pool.
func warmPoolBadFiles() []badFile {
	return []badFile{
		{name: "warm_pool as a number", yaml: webService + `    warm_pool: 2
`, line: 6, want: "services.web.warm_pool: got the number 2, want a map; write it like {min_size: 2, pool_state: running}"},
		{name: "warm pool spelled by AWS", yaml: webService + `    warm_pool: {MinSize: 2}
`, line: 6, want: `unknown key "MinSize"; did you mean min_size?`},
		{name: "negative min_size", yaml: webService + `    warm_pool: {min_size: -1}
`, line: 6, want: "services.web.warm_pool.min_size: min_size -1 is out of range; use 0 to 100"},
		{name: "prepared capacity too large", yaml: webService + `    warm_pool: {max_group_prepared_capacity: 101}
`, line: 6, want: "services.web.warm_pool.max_group_prepared_capacity: max_group_prepared_capacity 101 is out of range; use 0 to 100"},
		{name: "unknown pool state", yaml: webService + `    warm_pool: {pool_state: paused}
`, line: 6, want: `services.web.warm_pool.pool_state: unknown pool_state "paused"; use one of stopped, running, hibernated`},
		{name: "reuse not a bool", yaml: webService + `    warm_pool: {reuse_on_scale_in: sometimes}
`, line: 6, want: "services.web.warm_pool.reuse_on_scale_in"},
	}
}
