package main

// The daemon's own costs, on real libvirt:
//
//	VMFLEET_INTEGRATION=1 go test -run '^$' -bench 'PSOf50|UpUnchanged' -count 6 ./cmd/vmfleet
//	VMFLEET_INTEGRATION=1 go test -run '^$' -bench DaemonIdle -benchtime 1x ./cmd/vmfleet

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/client"
	"github.com/vmfleet/vmfleet/pkg/home"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/image"
	"github.com/vmfleet/vmfleet/pkg/instance"
)

// BenchmarkPSOf50Instances: the API round trip of `ps` with 50 instances
// libvirt knows (defined, not booted: listing reads the same domain
// metadata either way), through the Go client and through the CLI.
func BenchmarkPSOf50Instances(b *testing.B) {
	h := benchHome(b)
	vm(b, h, "bake", "--name", "hello", "--binary", bin("hello"), "--port", "8080", "--", "/app/hello")
	ctx := context.Background()
	hv, err := hypervisor.Connect(ctx, hypervisor.ChooseURI("", os.Getenv))
	if err != nil {
		b.Fatal(err)
	}
	defer hv.Close()
	st, err := image.OpenStore(h)
	if err != nil {
		b.Fatal(err)
	}
	m, err := st.Get("hello")
	if err != nil {
		b.Fatal(err)
	}
	mgr := &instance.Manager{HV: hv, Dir: filepath.Join(h, "instances")}
	for i := 0; i < 50; i++ {
		inst, err := mgr.Define(ctx, instance.Options{Image: m, Service: "bench", MemoryBytes: 128 << 20})
		if err != nil {
			b.Fatal(err)
		}
		defer mgr.Terminate(ctx, inst, 0)
	}
	vm(b, h, "info") // starts the daemon
	cl := client.Unix(home.Home{Dir: h}.Socket())
	b.Run("client", func(b *testing.B) {
		for b.Loop() {
			rows, err := cl.Instances(ctx)
			if err != nil || len(rows) != 50 {
				b.Fatalf("%d rows, %v", len(rows), err)
			}
		}
	})
	b.Run("cli", func(b *testing.B) {
		for b.Loop() {
			vm(b, h, "ps", "--json")
		}
	})
}

// BenchmarkUpUnchanged: `vmfleet up -d` of a fleet that is already as
// the file says, end to end (process start, parse, hash, plan, wait).
func BenchmarkUpUnchanged(b *testing.B) {
	h := benchHome(b)
	file := filepath.Join(b.TempDir(), "fleet.yaml")
	os.WriteFile(file, []byte(fmt.Sprintf(`name: bench
time_scale: 0.1 # health checks every 1s (the floor), 0.8s timeout
services:
  api:
    image: {binary: %s}
    command: ["/app/hello", "-listen", ":8080"]
    port: 8080
    cpu: 0.5
    memory: 128MiB
    health: {type: http, path: /healthz, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
`, bin("hello"))), 0o644)
	vm(b, h, "up", "-f", file, "-d")
	defer vm(b, h, "down", "-f", file, "-t", "0s")
	for b.Loop() {
		if out := vm(b, h, "up", "-f", file, "-d"); !strings.Contains(out, "nothing to change") {
			b.Fatalf("up changed something:\n%s", out)
		}
	}
}

// BenchmarkDaemonIdleWith20Instances: the daemon worker's CPU and
// resident memory with a fleet of 20 instances in service at the default
// timing (health checks every 1.5 s), measured over 30 s from /proc.
func BenchmarkDaemonIdleWith20Instances(b *testing.B) {
	h := benchHome(b)
	file := filepath.Join(b.TempDir(), "fleet.yaml")
	// AWS's default timing at the default time scale: what a user gets.
	os.WriteFile(file, []byte(fmt.Sprintf(`name: idle
services:
  api:
    image: {binary: %s}
    command: ["/app/hello", "-listen", ":8080"]
    port: 8080
    instances: 20
    cpu: 0.25
    memory: 128MiB
`, bin("hello"))), 0o644)
	vm(b, h, "up", "-f", file, "-d", "--wait-timeout", "15m")
	defer vm(b, h, "down", "-f", file, "-t", "0s")
	var info struct{ PID int }
	jsonDecode(b, vm(b, h, "info", "--json"), &info)
	time.Sleep(10 * time.Second) // let the boots' aftermath settle
	// Each iteration is one 30 s window; the mean and the worst are
	// reported (-benchtime 3x for three), and the idle guests' own CPU,
	// each QEMU's, on average: what bounds how many fit (issue 8).
	var sum, worst, guests float64
	n := 0
	for b.Loop() {
		g0 := qemuCPU(b, h) // its ps outside the daemon's window
		t0, c0 := time.Now(), cpuTime(b, info.PID)
		time.Sleep(30 * time.Second)
		t1, c1 := time.Now(), cpuTime(b, info.PID)
		g1 := qemuCPU(b, h)
		pct := 100 * (c1 - c0).Seconds() / t1.Sub(t0).Seconds()
		sum, worst, n = sum+pct, max(worst, pct), n+1
		var used time.Duration
		seen := 0
		for d, c := range g1 {
			if before, ok := g0[d]; ok { // a guest replaced meanwhile is left out
				used, seen = used+c-before, seen+1
			}
		}
		guests += 100 * used.Seconds() / t1.Sub(t0).Seconds() / float64(max(seen, 1))
	}
	b.ReportMetric(sum/float64(n), "%cpu")
	b.ReportMetric(worst, "%cpu-max")
	b.ReportMetric(float64(rssKiB(b, info.PID))/1024, "MiB-rss")
	b.ReportMetric(guests/float64(n), "%cpu/guest")
}

// qemuCPU is the CPU time of each instance's QEMU process, by domain,
// found by the pid files libvirt keeps.
func qemuCPU(b *testing.B, home string) map[string]time.Duration {
	var rows []psEntry
	jsonDecode(b, vm(b, home, "ps", "--json"), &rows)
	out := map[string]time.Duration{}
	for _, r := range rows {
		if pid, err := qemuPID(r.Domain); err == nil { // else gone between ps and here
			out[r.Domain] = cpuTime(b, pid)
		}
	}
	return out
}

// qemuPID is a running domain's QEMU process, from the pid file libvirt keeps.
func qemuPID(domain string) (int, error) {
	raw, err := os.ReadFile(filepath.Join("/run/libvirt/qemu", domain+".pid"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(raw)))
}

// cpuTime is a process's user+system time from /proc/PID/stat.
func cpuTime(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	hz := int64(100)
	if out, err := exec.Command("getconf", "CLK_TCK").Output(); err == nil {
		hz, _ = strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	}
	return time.Duration(ut+st) * time.Second / time.Duration(hz)
}

func rssKiB(b *testing.B, pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}
