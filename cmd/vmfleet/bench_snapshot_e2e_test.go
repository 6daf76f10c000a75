package main

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkScaleOneToTen: `scale hello=10 --wait` from one instance in
// service until all ten are, with the daemon restoring instances from a
// snapshot and with it booting them (--cold-boot), side by side.
//
//	VMFLEET_INTEGRATION=1 go test -run '^$' -bench ScaleOneToTen -benchtime 2x ./cmd/vmfleet
func BenchmarkScaleOneToTen(b *testing.B) {
	for _, launch := range []string{"snapshot", "cold"} {
		b.Run("launch="+launch, func(b *testing.B) {
			home := benchHome(b)
			env := []string{}
			if launch == "cold" {
				env = append(env, "VMFLEET_COLD_BOOT=1")
			}
			file := helloFleet(b, "scale", `    instances: 1
    health: {type: http, path: /healthz, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 3}
`)
			vmEnv(b, home, env, "up", "-f", file, "--detach", "--wait-timeout", "5m")
			b.Cleanup(func() { vmEnv(b, home, env, "down", "-f", file, "-t", "0s") })
			var used time.Duration // by the new instances' QEMUs, up to in service
			b.ResetTimer()
			for range b.N {
				before := homeDomains(b, home, env)
				vmEnv(b, home, env, "scale", "--fleet", "scale", "--wait", "--wait-timeout", "5m", "hello=10")
				b.StopTimer()
				for d := range homeDomains(b, home, env) {
					if !before[d] {
						pid, err := qemuPID(d)
						if err != nil {
							b.Fatal(err)
						}
						used += cpuTime(b, pid)
					}
				}
				vmEnv(b, home, env, "scale", "--fleet", "scale", "--wait", "--wait-timeout", "5m", "hello=1")
				time.Sleep(2 * time.Second) // the nine left and their QEMUs are gone
				b.StartTimer()
			}
			// Under TCG mostly translation, which every new QEMU does anew:
			// what bounds a scale-out on a host of few cores.
			b.ReportMetric(used.Seconds()/float64(9*b.N), "qemu-cpu-s/instance")
		})
	}
}

// homeDomains are the domains of home's instances, as a set.
func homeDomains(b *testing.B, home string, env []string) map[string]bool {
	var rows []psEntry
	jsonDecode(b, vmEnv(b, home, env, "ps", "--json"), &rows)
	out := map[string]bool{}
	for _, d := range domains(rows) {
		out[d] = true
	}
	return out
}

// helloFleet writes a fleet of one service, hello, running the test
// binary at 128 MiB and half a core with no drain; rest holds its further
// keys, indented as the service's.
func helloFleet(tb testing.TB, fleet, rest string) string {
	return fleetFile(tb, fmt.Sprintf(`name: %s
time_scale: 0.1 # health checks every 1s (the floor), 0.8s timeout
services:
  hello:
    image: {binary: %s}
    command: ["/app/hello", "-listen", ":8080"]
    port: 8080
    cpu: 0.5
    memory: 128MiB
    balancer: {deregistration_delay: 0s}
`, fleet, bin("hello"))+rest)
}

// vmEnv is vm with extra environment for the CLI and the daemon it starts.
func vmEnv(b *testing.B, home string, env []string, args ...string) string {
	b.Helper()
	out, err := execVmfleetEnv(home, env, args...)
	if err != nil {
		b.Fatalf("vmfleet %v: %v\n%s", args, err, out)
	}
	return out
}
