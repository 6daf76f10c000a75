package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// BenchmarkScaleFromWarmPool: `scale hello=10 --wait` from one instance in
// service with nine waiting in a warm pool, for each pool state; between
// rounds the nine go back to the pool (reuse_on_scale_in) and the timer
// waits for them.
//
//	VMFLEET_INTEGRATION=1 go test -run '^$' -bench ScaleFromWarmPool -benchtime 3x ./cmd/vmfleet
func BenchmarkScaleFromWarmPool(b *testing.B) {
	for _, state := range []string{"running", "hibernated", "stopped"} {
		b.Run("pool="+state, func(b *testing.B) {
			home := benchHome(b)
			file := helloFleet(b, "warm", `    instances: 1
    health: {type: http, path: /healthz, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 3}
    scaling: {min: 1, max: 10}
    warm_pool: {max_group_prepared_capacity: 10, pool_state: `+state+`, reuse_on_scale_in: true}
`)
			vmEnv(b, home, nil, "up", "-f", file, "--detach", "--wait-timeout", "5m")
			b.Cleanup(func() { vmEnv(b, home, nil, "down", "-f", file, "-t", "0s") })
			waitWarm(b, home, 9)
			b.ResetTimer()
			for range b.N {
				vmEnv(b, home, nil, "scale", "--fleet", "warm", "--wait", "--wait-timeout", "5m", "hello=10")
				b.StopTimer()
				vmEnv(b, home, nil, "scale", "--fleet", "warm", "hello=1")
				waitWarm(b, home, 9)
				b.StartTimer()
			}
		})
	}
}

// waitWarm waits until the fleet's pool holds n ready instances.
func waitWarm(b *testing.B, home string, n int) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		var list []api.FleetSummary
		if err := json.Unmarshal([]byte(vmEnv(b, home, nil, "ls", "--json")), &list); err != nil {
			b.Fatal(err)
		}
		if len(list) == 1 && len(list[0].Services) == 1 && list[0].Services[0].Warm == n {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	b.Fatalf("the warm pool never held %d ready instances", n)
}
