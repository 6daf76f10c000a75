package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// BenchmarkIdleInstances runs VMFLEET_DENSITY (default 100) idle instances
// of a 128 MiB Go service in one fleet, all in service, waits for them to
// settle, and reports what they hold: RSS and PSS per instance (from
// `vmfleet stats`), the host's available memory left, and how many more
// of that PSS it would fit. One round: each round boots them all. The
// health check is lenient: with dozens of guests booting on two cores
// under TCG, a 500 ms timeout fails instances that are only slow, and
// replacing them adds boots (about 30 instances is where that settles).
// The checks run inside each guest and are most of an idle guest's CPU
// under TCG: VMFLEET_DENSITY_INTERVAL sets their interval (default 2s;
// AWS's default is 30s).
//
//	VMFLEET_INTEGRATION=1 go test -run '^$' -bench IdleInstances -benchtime 1x -timeout 30m ./cmd/vmfleet
func BenchmarkIdleInstances(b *testing.B) {
	n := 100
	if v, err := strconv.Atoi(os.Getenv("VMFLEET_DENSITY")); err == nil && v > 0 {
		n = v
	}
	interval := 2 * time.Second
	if v, err := time.ParseDuration(os.Getenv("VMFLEET_DENSITY_INTERVAL")); err == nil && v >= 2*time.Second {
		interval = v
	}
	home := benchHome(b)
	file := helloFleet(b, "dense", fmt.Sprintf(`    instances: %d
    health: {type: http, path: /healthz, interval: %s, timeout: 15s, healthy_threshold: 2, unhealthy_threshold: 10}
`, n, interval*10)) // AWS time, run at a tenth
	for range b.N {
		if out, err := execVmfleetFor(26*time.Minute, home, nil, "up", "-f", file, "--detach", "--wait-timeout", "25m"); err != nil {
			b.Fatalf("up: %v\n%s", err, out)
		}
		b.Cleanup(func() { execVmfleetEnv(home, nil, "down", "-f", file, "-t", "0s") })
		time.Sleep(30 * time.Second) // the boot bursts end; the guests go idle
		var rows []api.Stats
		if err := json.Unmarshal([]byte(vmEnv(b, home, nil, "stats", "--json")), &rows); err != nil {
			b.Fatal(err)
		}
		var rss, pss uint64
		var cpu float64
		for _, r := range rows {
			rss, pss, cpu = rss+r.RSSBytes, pss+r.PSSBytes, cpu+r.CPUPercent
		}
		avail := memAvailable(b)
		b.StopTimer()
		if len(rows) != n {
			b.Fatalf("stats lists %d instances, want %d", len(rows), n)
		}
		b.ReportMetric(float64(len(rows)), "instances")
		b.ReportMetric(interval.Seconds(), "s-check-interval")
		b.ReportMetric(float64(rss)/float64(n)/(1<<20), "MiB-RSS/instance")
		b.ReportMetric(float64(pss)/float64(n)/(1<<20), "MiB-PSS/instance")
		b.ReportMetric(cpu, "%CPU-all")
		b.ReportMetric(float64(avail)/(1<<20), "MiB-available")
		b.ReportMetric(float64(avail)/(float64(pss)/float64(n)), "more-that-fit")
		vmEnv(b, home, nil, "down", "-f", file, "-t", "0s")
		time.Sleep(5 * time.Second) // their QEMUs are gone
		b.StartTimer()
	}
}

// memAvailable is the host's MemAvailable in bytes.
func memAvailable(b *testing.B) uint64 {
	raw, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no MemAvailable in /proc/meminfo")
	return 0
}
