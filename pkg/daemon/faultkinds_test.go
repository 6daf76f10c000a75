package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/agent"
	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

// faultSoon polls cond for up to 10 s.
func faultSoon(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10s: %s", what)
		}
	}
}

// hasFaultEvent says whether a fault activity contains each fragment.
func (td *testDaemon) hasFaultEvent(fragments ...string) bool {
	for _, e := range td.faultEvents() {
		if !slices.ContainsFunc(fragments, func(f string) bool { return !strings.Contains(e, f) }) {
			return true
		}
	}
	return false
}

// hasEvent says whether an activity of kind about instance contains
// fragment.
func (td *testDaemon) hasEvent(kind, instance, fragment string) bool {
	return slices.ContainsFunc(td.d.Activities(), func(e api.Event) bool {
		return e.Kind == kind && e.Instance == instance && strings.Contains(e.Message, fragment)
	})
}

func faultErr(t *testing.T, err error, kind, fragment string) {
	t.Helper()
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Kind != kind || !strings.Contains(ae.Message, fragment) {
		t.Errorf("%v; want a %s error about %q", err, kind, fragment)
	}
}

// An unhealthy fault fails the instance's health checks: its group sees
// it unhealthy, for the fault's reason, and replaces it; the fault ends
// with its instance.
func TestAnUnhealthyFaultFailsItsChecksAndItsGroupReplacesIt(t *testing.T) {
	td := newTestDaemon(t)
	td.apply(fleetYAML(""), false)
	names := td.inService(2)
	id := strings.TrimPrefix(names[0], "vmfleet-shop-web-")
	ctx := context.Background()
	f, err := td.d.InjectFault(ctx, id, api.FaultRequest{Action: api.FaultUnhealthy, Seconds: 60})
	if err != nil || f.Until == nil {
		t.Fatalf("unhealthy: %+v, %v", f, err)
	}
	_, err = td.d.InjectFault(ctx, id, api.FaultRequest{Action: api.FaultUnhealthy})
	faultErr(t, err, api.KindConflict, "in force already")
	faultSoon(t, "the instance replaced", func() bool {
		return !slices.Contains(td.fake.Names(), names[0]) && len(td.inService(2)) == 2
	})
	var seen bool
	for _, e := range td.d.Activities() {
		seen = seen || e.Instance == id && e.Kind == "unhealthy" && strings.Contains(e.Message, "fault injected")
	}
	if !seen {
		t.Errorf("no unhealthy activity for %s naming the fault: %v", id, td.d.Activities())
	}
	faultSoon(t, "the fault ended with its instance", func() bool { return td.hasFaultEvent(id, "fault ended: its instance is gone") })
	if !td.hasFaultEvent(id, "injected: its health checks fail for 1m0s") {
		t.Errorf("fault activities %q; want the injection", td.faultEvents())
	}
}

// A network fault takes the NIC's link down and its health checks time
// out: the group replaces the instance, and the fault ends with it.
func TestANetworkFaultCutsTheLinkAndTimesOutTheHealthChecks(t *testing.T) {
	td := newTestDaemon(t)
	td.apply(fleetYAML(""), false)
	names := td.inService(2)
	id := strings.TrimPrefix(names[0], "vmfleet-shop-web-")
	if _, err := td.d.InjectFault(context.Background(), id, api.FaultRequest{Action: api.FaultNetwork, Seconds: 60}); err != nil {
		t.Fatal(err)
	}
	if d, _ := td.fake.Domain(names[0]); !d.LinkDown {
		t.Fatal("the link is up")
	}
	faultSoon(t, "the instance found unhealthy by timeout", func() bool { return td.hasEvent("unhealthy", id, "timeout") })
	faultSoon(t, "the fault ended with its instance", func() bool { return td.hasFaultEvent(id, "fault ended: its instance is gone") })
	td.inService(2)
}

// A network fault takes the NIC's link down until it ends, again when
// libvirtd did not answer the first try, and at once when the daemon
// stops. Its checks fail only after 10 of 30 s (0.6 s here), so the
// instance outlives a 1 s cut.
func TestANetworkFaultTakesTheLinkDownUntilItEnds(t *testing.T) {
	td := newTestDaemon(t)
	td.apply(strings.Replace(fleetYAML(""), "interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2",
		"interval: 30s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 10", 1), false)
	names := td.inService(2)
	id := strings.TrimPrefix(names[0], "vmfleet-shop-web-")
	down := func() bool { d, _ := td.fake.Domain(names[0]); return d.LinkDown }
	ctx := context.Background()
	if _, err := td.d.InjectFault(ctx, id, api.FaultRequest{Action: api.FaultNetwork, Seconds: 1}); err != nil || !down() {
		t.Fatalf("network: %v; link down %v", err, down())
	}
	td.fake.FailOnce("SetLink", fmt.Errorf("set the link: %w", hypervisor.ErrReconnecting))
	faultSoon(t, "the link up", func() bool { return !down() })
	if !td.hasFaultEvent(id, "injected: network cut for 1s") || !td.hasFaultEvent(id, "fault ended: network link up") {
		t.Errorf("fault activities %q; want the cut injected, then ended", td.faultEvents())
	}
	if _, err := td.d.InjectFault(ctx, id, api.FaultRequest{Action: api.FaultNetwork, Seconds: 600}); err != nil {
		t.Fatal(err)
	}
	td.stop()
	if down() {
		t.Error("a daemon stopped with a network fault in force left the link down")
	}
	td.start()
	td.inService(2)
}

// faultBurner plays an instance's agent: what it burns is reported.
type faultBurner struct{ started, ended chan struct{} }

// faultAgentOf serves domain's agent socket with a guest that burns with
// burn (nil: a guest whose init predates burns).
func (td *testDaemon) faultAgentOf(domain string, burn bool) *faultBurner {
	t := td.t.(*testing.T)
	dir, err := os.MkdirTemp("", "ag") // a socket path has room for 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ln, err := net.Listen("unix", filepath.Join(dir, "agent.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	b := &faultBurner{started: make(chan struct{}, 4), ended: make(chan struct{}, 4)}
	g := &agent.Guest{Open: func() (io.ReadWriteCloser, error) { return ln.Accept() }}
	if burn {
		g.Burn = func(ctx context.Context) {
			b.started <- struct{}{}
			<-ctx.Done()
			b.ended <- struct{}{}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go g.Run(ctx)
	td.fake.SetAgentSocket(domain, ln.Addr().String())
	return b
}

func faultReceived(t *testing.T, ch chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("not within 10s: %s", what)
	}
}

// A cpu fault burns in the guest, through its agent, until it ends or the
// daemon stops; a guest whose init cannot burn is refused in a line that
// says what to do.
func TestACPUFaultBurnsInTheGuestUntilItEnds(t *testing.T) {
	td := newTestDaemon(t)
	td.apply(fleetYAML(""), false)
	names := td.inService(2)
	id := strings.TrimPrefix(names[0], "vmfleet-shop-web-")
	old := strings.TrimPrefix(names[1], "vmfleet-shop-web-")
	b := td.faultAgentOf(names[0], true)
	td.faultAgentOf(names[1], false)
	ctx := context.Background()
	if _, err := td.d.InjectFault(ctx, id, api.FaultRequest{Action: api.FaultCPU, Seconds: 1}); err != nil {
		t.Fatal(err)
	}
	faultReceived(t, b.started, "the burn started")
	faultReceived(t, b.ended, "the burn ended after its second")
	faultSoon(t, "the fault ended", func() bool { return td.hasFaultEvent(id, "fault ended: CPU burn stopped") })
	if !td.hasFaultEvent(id, "injected: CPU burned for 1s") {
		t.Errorf("fault activities %q; want the burn injected", td.faultEvents())
	}
	_, err := td.d.InjectFault(ctx, old, api.FaultRequest{Action: api.FaultCPU, Seconds: 1})
	faultErr(t, err, api.KindConflict, "bake its image again")

	if _, err := td.d.InjectFault(ctx, id, api.FaultRequest{Action: api.FaultCPU, Seconds: 600}); err != nil {
		t.Fatal(err)
	}
	faultReceived(t, b.started, "the second burn started")
	td.stop()
	faultReceived(t, b.ended, "the burn ended as the daemon stopped")
	td.start()
	td.inService(2)
}

// faultProcState is a process's state letter from /proc (T: stopped).
func faultProcState(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return rest[:1]
}

// A libvirtd fault stops the process the hypervisor names as libvirtd
// (here a stand-in) and continues it when it ends or the daemon stops;
// without one it is refused, as on the wrong route, and one at a time.
func TestALibvirtdFaultStopsLibvirtdUntilItEnds(t *testing.T) {
	td := newTestDaemon(t)
	ctx := context.Background()
	_, err := td.d.InjectHostFault(ctx, api.FaultRequest{Action: api.FaultLibvirtd, Seconds: 1})
	faultErr(t, err, api.KindConflict, "fault libvirtd: the fake has no libvirtd process")
	_, err = td.d.InjectHostFault(ctx, api.FaultRequest{Action: api.FaultCPU})
	faultErr(t, err, api.KindInvalid, "an instance's")
	_, err = td.d.InjectFault(ctx, "i-000000000000", api.FaultRequest{Action: api.FaultLibvirtd})
	faultErr(t, err, api.KindInvalid, "the host's")
	_, err = td.d.InjectHostFault(ctx, api.FaultRequest{Action: api.FaultLibvirtd, Seconds: 601})
	faultErr(t, err, api.KindInvalid, "not from 1 to 600 s")

	stand := exec.Command("sleep", "60")
	if err := stand.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stand.Process.Kill(); stand.Wait() })
	pid := stand.Process.Pid
	td.fake.Libvirtd = pid
	marker := filepath.Join(td.dir, "home", stoppedLibvirtdFile)
	f, err := td.d.InjectHostFault(ctx, api.FaultRequest{Action: api.FaultLibvirtd, Seconds: 1})
	if err != nil || f.Instance != "" || f.Until == nil {
		t.Fatalf("libvirtd: %+v, %v", f, err)
	}
	faultSoon(t, "libvirtd's stand-in stopped", func() bool { return faultProcState(t, pid) == "T" })
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("no note of the stopped libvirtd for a daemon that dies: %v", err)
	}
	_, err = td.d.InjectHostFault(ctx, api.FaultRequest{Action: api.FaultLibvirtd})
	faultErr(t, err, api.KindConflict, "in force already")
	faultSoon(t, "libvirtd continued", func() bool { return faultProcState(t, pid) != "T" })
	want := fmt.Sprintf("libvirtd (pid %d)", pid)
	faultSoon(t, "the fault ended", func() bool { return td.hasFaultEvent("fault ended: " + want + " continued (SIGCONT)") })
	if !td.hasFaultEvent("injected: " + want + " stopped for 1s (SIGSTOP)") {
		t.Errorf("fault activities %q; want the stop injected", td.faultEvents())
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the note of the stopped libvirtd outlived the fault")
	}

	if _, err := td.d.InjectHostFault(ctx, api.FaultRequest{Action: api.FaultLibvirtd, Seconds: 600}); err != nil {
		t.Fatal(err)
	}
	faultSoon(t, "libvirtd's stand-in stopped again", func() bool { return faultProcState(t, pid) == "T" })
	td.stop()
	faultSoon(t, "libvirtd continued as the daemon stopped", func() bool { return faultProcState(t, pid) != "T" })
	td.start()
}
