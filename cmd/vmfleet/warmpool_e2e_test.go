package main

import (
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

// inPhase picks a service's rows of `ps` in one phase.
func inPhase(rows []psEntry, service, phase string) []psEntry {
	var out []psEntry
	for _, r := range rows {
		if r.Service == service && r.Phase == phase {
			out = append(out, r)
		}
	}
	return out
}

// poolOf is the warm pool a domain's vmfleet metadata names.
func poolOf(t *testing.T, domain string) string {
	t.Helper()
	out, err := exec.Command("virsh", "-c", "qemu:///system", "metadata", domain, "--uri", hypervisor.MetadataNamespace).CombinedOutput()
	if err != nil {
		t.Fatalf("virsh metadata %s: %v: %s", domain, err, out)
	}
	var md struct {
		Pool string `xml:"pool"`
	}
	if err := xml.Unmarshal(out, &md); err != nil {
		t.Fatalf("metadata of %s: %v: %s", domain, err, out)
	}
	return md.Pool
}

// One service per pool state, each with a pool of one beside one
// instance in service: the pools fill, stay out of rotation, serve a
// scale-out and refill.
func TestWarmPoolsFillServeAScaleOutAndRefill(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	health := `{type: http, path: /healthz, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}`
	states := []string{"running", "stopped", "hibernated"}
	ports := map[string]int{}
	yaml := "name: warm\ntime_scale: 0.1\nservices:\n"
	for _, st := range states {
		ports[st] = freePort(t)
		yaml += fmt.Sprintf(`  %[1]s:
    image: {binary: %[2]s}
    command: ["/app/hello", "-listen", ":8080"]
    port: 8080
    instances: 1
    cpu: 0.5
    memory: 128MiB
    health: %[3]s
    balancer: {listen: 127.0.0.1:%[4]d, deregistration_delay: 10s}
    scaling: {min: 0, max: 3}
    warm_pool: {min_size: 1, max_group_prepared_capacity: 2, pool_state: %[1]s}
`, st, bin("hello"), health, ports[st])
	}
	file := fleetFile(t, yaml)
	t.Cleanup(func() { e.vmfleet("down", "-f", file) })
	// Under the harness's 3 min limit, so a slow up says why itself.
	e.must("up", "-f", file, "--detach", "--wait-timeout", "2m50s")
	warmed := func(st string) string { return "Warmed:" + strings.ToUpper(st[:1]) + st[1:] }

	poolsFull := func() bool {
		rows := e.ps("warm")
		for _, st := range states {
			if len(inPhase(rows, st, warmed(st))) != 1 {
				return false
			}
		}
		return true
	}
	e.waitFor("every pool filled", 3*time.Minute, poolsFull)
	rows := e.ps("warm")
	pool := map[string]psEntry{}
	for _, st := range states {
		w := inPhase(rows, st, warmed(st))[0]
		pool[st] = w
		if got := poolOf(t, w.Domain); got != st {
			t.Errorf("%s: %s's metadata names pool %q", st, w.ID, got)
		}
		serving := inPhase(rows, st, "InService")
		if len(serving) != 1 {
			t.Fatalf("%s: %d in service, want 1: %+v", st, len(serving), rows)
		}
		// The balancer sends nothing to the pool.
		for range 4 {
			body, err := fetch(fmt.Sprintf("http://127.0.0.1:%d/", ports[st]))
			if err != nil || !strings.HasSuffix(body, serving[0].ID) {
				t.Errorf("%s: the balancer answered %q (%v), want only the in-service %s", st, body, err, serving[0].ID)
			}
		}
		out, err := exec.Command("virsh", "-c", "qemu:///system", "domstate", w.Domain).CombinedOutput()
		state := strings.TrimSpace(string(out))
		want := map[string]string{"running": "running", "stopped": "shut off", "hibernated": "shut off"}[st]
		if err != nil || state != want {
			t.Errorf("%s: virsh domstate %s: %q (%v), want %q", st, w.Domain, state, err, want)
		}
		_, err = os.Stat(filepath.Join(w.Dir, "hibernation.state"))
		if saved := err == nil; saved != (st == "hibernated") {
			t.Errorf("%s: %s has a saved memory: %v", st, w.ID, saved)
		}
	}

	e.must("scale", "-f", file, "running=2", "stopped=2", "hibernated=2", "--wait", "--wait-timeout", "3m")
	rows = e.ps("warm")
	for _, st := range states {
		var serving []string
		for _, r := range inPhase(rows, st, "InService") {
			serving = append(serving, r.ID)
		}
		if len(serving) != 2 || !slices.Contains(serving, pool[st].ID) {
			t.Errorf("%s: in service %v, want 2 with the pool's %s", st, serving, pool[st].ID)
		}
	}
	// Each domain remembers that it left its pool, for a restarted daemon.
	for _, st := range states {
		e.waitFor(st+" pool member's metadata cleared", 30*time.Second, func() bool {
			return poolOf(t, pool[st].Domain) == ""
		})
	}
	// The hibernated instance resumed with the host's time, not the time
	// it was saved at, before it went in service.
	for _, r := range inPhase(rows, "hibernated", "InService") {
		if r.ID != pool["hibernated"].ID {
			continue
		}
		body, err := fetch("http://" + r.Address + "/time")
		ns, perr := strconv.ParseInt(body, 10, 64)
		if off := time.Since(time.Unix(0, ns)); err != nil || perr != nil || off.Abs() > 2*time.Second {
			t.Errorf("%s's clock: %q (%v, %v), %s off the host's", r.ID, body, err, perr, off)
		}
	}
	e.waitFor("every pool refilled", 3*time.Minute, poolsFull)
	e.must("down", "-f", file)
	if out, _ := exec.Command("virsh", "-c", "qemu:///system", "list", "--all", "--name").Output(); strings.Contains(string(out), "vmfleet-warm-") {
		t.Errorf("down left domains: %s", out)
	}
}
