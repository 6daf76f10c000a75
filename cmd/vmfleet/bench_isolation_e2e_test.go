package main

// What isolation costs, on real VMs:
//
//	VMFLEET_INTEGRATION=1 go test -run '^$' -bench 'DependencyPath|ExecTrue' -benchtime 1x -count 3 ./cmd/vmfleet

import (
	"context"
	"encoding/json"
	"fmt"
	"os/user"
	"strings"
	"sync"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/firewall"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

// isolationBenchFleet: db (hello) and client (busybox and loadgen), which
// depends on db.
func isolationBenchFleet(b *testing.B) (home, file string) {
	home = benchHome(b)
	file = fleetFile(b, fmt.Sprintf(`name: bench
time_scale: 0.1
services:
  db:
    image: {binary: %s}
    command: ["/app/hello", "-listen", ":8080"]
    port: 8080
    memory: 128MiB
    health: {type: http, path: /healthz, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
  client:
    image: {rootfs: %s}
    command: [/app/loadgen, -listen, ":8080"]
    port: 8080
    memory: 128MiB
    depends_on: [db]
    health: {type: tcp, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
`, bin("hello"), busyboxTar(b, "", bin("loadgen"))))
	vm(b, home, "up", "-f", file, "-d", "--wait-timeout", "5m")
	b.Cleanup(func() { execVmfleet(home, "down", "-f", file, "-t", "0s") })
	return home, file
}

func clientID(b *testing.B, home string) string {
	var rows []struct{ ID, Service string }
	if err := json.Unmarshal([]byte(vm(b, home, "ps", "--json")), &rows); err != nil {
		b.Fatal(err)
	}
	for _, r := range rows {
		if r.Service == "client" {
			return r.ID
		}
	}
	b.Fatal("no client instance")
	return ""
}

// BenchmarkDependencyPath: requests from inside a guest to its dependency's
// balancer at the discovery address (10.0.2.2), 4 in flight for 5 s, with
// the guest held by its firewall rules and, the baseline, with the
// firewall lifted: QEMU's user network straight to the host's loopback,
// the path every guest had before isolation. Same client, one after the
// other in each iteration so both see the same machine. The client is
// Go's default (keep-alive, two idle connections kept, so with 4 in
// flight some requests connect anew).
func BenchmarkDependencyPath(b *testing.B) {
	home, _ := isolationBenchFleet(b)
	id := clientID(b, home)
	var fleets []struct {
		Services []struct{ Name, Listen string }
	}
	json.Unmarshal([]byte(vm(b, home, "ls", "--json")), &fleets)
	var port string
	for _, s := range fleets[0].Services {
		if s.Name == "db" {
			port = s.Listen[strings.LastIndex(s.Listen, ":")+1:]
		}
	}
	load := func(b *testing.B, host string) map[string]float64 {
		return loadgen(b, home, id, "http://"+host+":"+port+"/")
	}
	var held, open, ratio, heldP99, openP99 float64
	n := 0
	for b.Loop() {
		h := load(b, "10.0.2.2")
		lift := liftFirewall(b)
		o := load(b, "10.0.2.2")
		lift()
		held, open, ratio = held+h["per_second"], open+o["per_second"], ratio+h["per_second"]/o["per_second"]
		heldP99, openP99, n = heldP99+h["p99_ms"], openP99+o["p99_ms"], n+1
	}
	b.ReportMetric(held/float64(n), "isolated-req/s")
	b.ReportMetric(open/float64(n), "usernet-req/s")
	b.ReportMetric(ratio/float64(n), "ratio")
	b.ReportMetric(heldP99/float64(n), "isolated-p99-ms")
	b.ReportMetric(openP99/float64(n), "usernet-p99-ms")
}

// loadgen runs testdata/loadgen inside instance id against url, 4
// requests in flight for 5 s, and returns what it measured; a run
// without answers or with a failed request fails b.
func loadgen(b *testing.B, home, id, url string) map[string]float64 {
	out := vm(b, home, "exec", id, "--", "/app/loadgen", "-url", url, "-d", "5s", "-c", "4")
	var r map[string]float64
	if err := json.Unmarshal([]byte(out), &r); err != nil || r["requests"] == 0 || r["failed"] != 0 {
		b.Fatalf("loadgen: %v: %s", err, out)
	}
	return r
}

// liftFirewall takes the guests' jump out of OUTPUT until the returned
// func (or the end of b) puts it back.
func liftFirewall(b *testing.B) (restore func()) {
	uid, ok := hypervisor.QEMUUser(user.Lookup)
	if !ok {
		b.Fatal("no QEMU user")
	}
	g := firewall.New(uid, nil)
	if err := g.Lift(context.Background()); err != nil {
		b.Fatal(err)
	}
	var once sync.Once
	restore = func() {
		once.Do(func() {
			if err := g.Ensure(context.Background()); err != nil {
				b.Errorf("put the firewall back: %v", err)
			}
		})
	}
	b.Cleanup(restore)
	return restore
}

// BenchmarkExecTrue: `vmfleet exec INSTANCE -- true`, end to end from
// process start, under TCG.
func BenchmarkExecTrue(b *testing.B) {
	home, _ := isolationBenchFleet(b)
	id := clientID(b, home)
	for b.Loop() {
		vm(b, home, "exec", id, "--", "/bin/busybox", "true")
	}
}
