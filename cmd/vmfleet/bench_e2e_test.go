package main

// Benchmarks on real VMs. Each op boots guests, so run them with a fixed
// count, e.g.:
//
//	VMFLEET_INTEGRATION=1 go test -run '^$' -bench 'RunToFirstAnswer|UpThree' -benchtime 3x -count 3 ./cmd/vmfleet
//	VMFLEET_INTEGRATION=1 go test -run '^$' -bench BalancerVsDirect -count 6 ./cmd/vmfleet

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/balancer"
	"github.com/vmfleet/vmfleet/pkg/health"
)

// benchHome is a benchmark's vmfleet home, reachable by QEMU.
func benchHome(b *testing.B) string {
	b.Helper()
	if integration != "" {
		b.Skipf("no libvirtd: %s", integration)
	}
	home, err := os.MkdirTemp("", "vmfleet-test-")
	if err != nil {
		b.Fatal(err)
	}
	os.Chmod(home, 0o755)
	b.Cleanup(func() {
		execVmfleet(home, "daemon", "stop")
		os.RemoveAll(home)
	})
	return home
}

// vm runs vmfleet for a benchmark and fails it on error.
func vm(b *testing.B, home string, args ...string) string {
	b.Helper()
	return vmEnv(b, home, nil, args...)
}

// waitHTTP polls url every 10 ms until it answers 200.
func waitHTTP(b *testing.B, url string, limit time.Duration) {
	b.Helper()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if resp, err := client.Get(url); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatalf("no answer from %s within %s", url, limit)
}

// BenchmarkRunToFirstAnswer: `vmfleet run` of a baked image until its
// first HTTP answer through the forwarded port, at a whole core and at
// half of one: taking a spare (a home whose daemon keeps them, with the
// kind's spare ready), restored from the snapshot (no spares), and
// booted cold, side by side.
//
//	VMFLEET_INTEGRATION=1 go test -run '^$' -bench RunToFirstAnswer -benchtime 5x ./cmd/vmfleet
func BenchmarkRunToFirstAnswer(b *testing.B) {
	plain, spares := benchHome(b), benchHome(b)
	withSpares := []string{"VMFLEET_SPARES=2"}
	// The first command starts each home's daemon, with its env.
	for home, env := range map[string][]string{plain: nil, spares: withSpares} {
		vmEnv(b, home, env, "bake", "--name", "hello", "--binary", bin("hello"), "--port", "8080", "--", "/app/hello", "-listen", ":8080")
	}
	// The first launch of each shape captures its snapshot, and the
	// second of each kind has its spare made: not timed.
	for _, cpu := range []string{"1", "0.5"} {
		runToAnswer(b, plain, nil, "--cpu", cpu)
		for range 2 {
			runToAnswer(b, spares, withSpares, "--cpu", cpu)
		}
	}
	for _, launch := range []string{"spare", "snapshot", "cold"} {
		for _, cpu := range []string{"1", "0.5"} {
			b.Run("launch="+launch+"/cpu="+cpu, func(b *testing.B) {
				home, env, args := plain, []string(nil), []string{"--cpu", cpu}
				switch launch {
				case "spare":
					home, env = spares, withSpares
				case "cold":
					args = append(args, "--cold-boot")
				}
				var took, used []time.Duration
				for range b.N {
					if launch == "spare" {
						b.StopTimer()
						waitSpare(b, home, env, "cpu="+cpu+"/")
						b.StartTimer()
					}
					t, u := runToAnswer(b, home, env, args...)
					took, used = append(took, t), append(used, u)
				}
				// The target is a median: a mean hides a slow first take.
				b.ReportMetric(median(took).Seconds(), "median-s")
				b.ReportMetric(median(used).Seconds(), "qemu-cpu-s")
			})
		}
	}
}

// runToAnswer runs hello in home and returns how long the run took to
// its first answer, and how much CPU its QEMU had used by then (under
// TCG, mostly translating), a spare's making and staging included: a
// spare moves that work off the launch, it does not save it. The
// instance is removed after, untimed.
func runToAnswer(b *testing.B, home string, env []string, args ...string) (time.Duration, time.Duration) {
	begin := time.Now()
	out := vmEnv(b, home, env, append([]string{"run", "hello", "--json", "--memory", "128MiB"}, args...)...)
	var inst struct{ ID, Address, Domain string }
	jsonDecode(b, out, &inst)
	waitHTTP(b, "http://"+inst.Address+"/", 2*time.Minute)
	took := time.Since(begin)
	b.StopTimer()
	pid, err := qemuPID(inst.Domain)
	if err != nil {
		b.Fatal(err)
	}
	cpu := cpuTime(b, pid)
	vmEnv(b, home, env, "rm", "-f", inst.ID)
	b.StartTimer()
	return took, cpu
}

// BenchmarkRunLoop: run, first answer, rm, back to back, as a script or
// a CI job would, with the daemon keeping spares and without. Unlike
// RunToFirstAnswer it waits for nothing: a run may find the kind's next
// spare still being made (and wait for it) or not yet begun (and
// launch from the snapshot).
//
//	VMFLEET_INTEGRATION=1 go test -run '^$' -bench RunLoop -benchtime 10x ./cmd/vmfleet
func BenchmarkRunLoop(b *testing.B) {
	for _, spares := range []string{"0", "2"} {
		b.Run("spares="+spares, func(b *testing.B) {
			home, env := benchHome(b), []string{"VMFLEET_SPARES=" + spares}
			vmEnv(b, home, env, "bake", "--name", "hello", "--binary", bin("hello"), "--port", "8080", "--", "/app/hello", "-listen", ":8080")
			runToAnswer(b, home, env) // captures the shape's snapshot: not timed
			b.ResetTimer()
			var took []time.Duration
			for range b.N {
				t, _ := runToAnswer(b, home, env)
				took = append(took, t)
			}
			b.ReportMetric(median(took).Seconds(), "median-s")
		})
	}
}

// median is the middle of ds (which it sorts).
// median sorts xs and returns its middle value; zero for none.
func median[T cmp.Ordered](xs []T) T {
	var zero T
	if len(xs) == 0 {
		return zero
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// waitSpare waits until a spare whose kind contains kind is ready.
func waitSpare(b *testing.B, home string, env []string, kind string) {
	b.Helper()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var in api.Info
		jsonDecode(b, vmEnv(b, home, env, "info", "--json"), &in)
		for _, s := range in.Launch.Spares {
			if s.Instance != "" && strings.Contains(s.Kind, kind) {
				return
			}
		}
	}
	b.Fatalf("no spare of kind %s within 2 minutes", kind)
}

// BenchmarkUpThreeInstances: `up` of a 3-instance service from a baked
// image until all are healthy.
func BenchmarkUpThreeInstances(b *testing.B) {
	home := benchHome(b)
	dir := b.TempDir()
	file := filepath.Join(dir, "fleet.yaml")
	os.WriteFile(file, []byte(fmt.Sprintf(`name: bench
time_scale: 0.04 # health checks every 1s (the floor), 0.8s timeout
services:
  hello:
    image: {binary: %s}
    command: ["/app/hello", "-listen", ":8080"]
    port: 8080
    instances: 3
    memory: 128MiB
    health: {type: http, path: /healthz, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
    balancer: {deregistration_delay: 0s}
`, bin("hello"))), 0o644)
	vm(b, home, "bake", "--name", "warm", "--binary", bin("hello")) // kernel copied into the store once
	b.Cleanup(func() { execVmfleet(home, "down", "-f", file) })
	for i := 0; i < b.N; i++ {
		vm(b, home, "up", "-f", file, "--detach")
		b.StopTimer()
		vm(b, home, "down", "-f", file)
		b.StartTimer()
	}
}

// BenchmarkBalancerVsDirect: HTTP requests (a new connection each) and one
// long bulk transfer, straight to one instance's forwarded port and through
// a balancer in front of it, same client, same run.
func BenchmarkBalancerVsDirect(b *testing.B) {
	home := benchHome(b)
	vm(b, home, "bake", "--name", "hello", "--binary", bin("hello"), "--port", "8080", "--", "/app/hello", "-listen", ":8080")
	var inst struct{ ID, Address string }
	jsonDecode(b, vm(b, home, "run", "hello", "--json", "--cpu", "1"), &inst)
	b.Cleanup(func() { execVmfleet(home, "rm", "-f", inst.ID) })
	waitHTTP(b, "http://"+inst.Address+"/", 2*time.Minute)

	bal, err := balancer.New(balancer.Options{Check: health.Check{Type: health.TypeHTTP, Path: "/healthz", Interval: time.Hour, Timeout: time.Second, HealthyThreshold: 1, UnhealthyThreshold: 2}})
	if err != nil {
		b.Fatal(err)
	}
	defer bal.Close()
	addr, err := bal.Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	if err := bal.RegisterHealthy(inst.Address); err != nil {
		b.Fatal(err)
	}
	targets := map[string]string{"direct": inst.Address, "balancer": addr.String()}
	// Warm the guest (TCG translates code on first use) through both
	// paths, so neither side pays for it.
	warm := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := 0; i < 200; i++ {
		for _, t := range targets {
			if resp, err := warm.Get("http://" + t + "/"); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}
	for _, name := range []string{"direct", "balancer"} {
		url := "http://" + targets[name]
		b.Run("requests/"+name, func(b *testing.B) {
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			lat := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				start := time.Now()
				resp, err := client.Get(url + "/")
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(start))
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
		})
		b.Run("bulk/"+name, func(b *testing.B) {
			const size = 16 << 20
			b.SetBytes(size)
			for i := 0; i < b.N; i++ {
				c, err := net.Dial("tcp", targets[name])
				if err != nil {
					b.Fatal(err)
				}
				fmt.Fprintf(c, "GET /bytes?n=%d HTTP/1.0\r\n\r\n", size)
				n, err := io.Copy(io.Discard, c)
				c.Close()
				if err != nil || n < size {
					b.Fatalf("read %d bytes: %v", n, err)
				}
			}
		})
	}
}
