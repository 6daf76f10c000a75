package main

import (
	"fmt"
	"strconv"
	"testing"
)

// BenchmarkTranslationCache: what the size of QEMU's TCG translation
// cache costs a busy guest and saves its host. One fleet per size (its
// daemon started with VMFLEET_TB_CACHE_MIB), each guest loading its own
// service over loopback for 5 s (CPU-bound inside the guest, nothing on
// the host), the sizes in turn in each iteration; then its QEMU's RSS.
//
//	VMFLEET_INTEGRATION=1 go test -run '^$' -bench TranslationCache -benchtime 3x ./cmd/vmfleet
func BenchmarkTranslationCache(b *testing.B) {
	sizes := []int{16, 32, 64}
	type guest struct{ home, id, domain string }
	guests := map[int]guest{}
	tar := busyboxTar(b, "", bin("loadgen"))
	for _, mib := range sizes {
		home := benchHome(b)
		env := []string{"VMFLEET_TB_CACHE_MIB=" + strconv.Itoa(mib)}
		file := fleetFile(b, fmt.Sprintf(`name: tb%d
time_scale: 1
services:
  self:
    image: {rootfs: %s}
    command: [/app/loadgen, -listen, ":8080"]
    port: 8080
    memory: 128MiB
    health: {type: tcp, interval: 10s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
`, mib, tar))
		vmEnv(b, home, env, "up", "-f", file, "-d", "--wait-timeout", "5m")
		b.Cleanup(func() { execVmfleetEnv(home, env, "down", "-f", file, "-t", "0s") })
		var rows []psEntry
		jsonDecode(b, vm(b, home, "ps", "--json"), &rows)
		if len(rows) != 1 {
			b.Fatalf("tb %d: %d instances", mib, len(rows))
		}
		guests[mib] = guest{home, rows[0].ID, rows[0].Domain}
	}
	perSecond, p99 := map[int]float64{}, map[int]float64{}
	n := 0
	for b.Loop() {
		for _, mib := range sizes {
			g := guests[mib]
			r := loadgen(b, g.home, g.id, "http://127.0.0.1:8080/")
			perSecond[mib] += r["per_second"]
			p99[mib] += r["p99_ms"]
		}
		n++
	}
	for _, mib := range sizes {
		pid, err := qemuPID(guests[mib].domain)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(perSecond[mib]/float64(n), fmt.Sprintf("req/s-tb%d", mib))
		b.ReportMetric(p99[mib]/float64(n), fmt.Sprintf("p99-ms-tb%d", mib))
		b.ReportMetric(float64(rssKiB(b, pid))/1024, fmt.Sprintf("MiB-rss-tb%d", mib))
	}
}
