package daemon

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/client"
	"github.com/vmfleet/vmfleet/pkg/firewall"
	"github.com/vmfleet/vmfleet/pkg/guestconfig"
	"github.com/vmfleet/vmfleet/pkg/home"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/hypervisor/hypervisortest"
	"github.com/vmfleet/vmfleet/pkg/image"
	"github.com/vmfleet/vmfleet/pkg/kernel"
	"github.com/vmfleet/vmfleet/pkg/limits"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// The daemon on the hypervisor fake: each guest is an HTTP server on its
// forward, so apply, diff, scale, down, restart and adoption run in
// seconds, with the real store, bake, controllers and balancers.

// booted are the configs the fake's guests booted with, by instance.
var booted sync.Map

// guest serves what a booted hello would, from its instance's config;
// one whose user data is "unhealthy" answers 500, as a broken build.
func guest(spec hypervisor.DomainSpec, fwcfg map[string][]byte, hostPort, _ int) func() {
	cfg, err := guestconfig.Decode(fwcfg[guestconfig.FwCfgName])
	if err != nil {
		return nil
	}
	booted.Store(cfg.InstanceID, cfg)
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", hostPort))
	if err != nil {
		return nil
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if string(cfg.Metadata.UserData) == "unhealthy" {
			http.Error(w, "broken build", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "hello from %s", cfg.InstanceID)
	})}
	go srv.Serve(ln)
	return func() { srv.Close() }
}

// testDaemon is a daemon of one home on one fake libvirt, which a second
// daemon of the same home can take over (restart).
type testDaemon struct {
	t    testing.TB
	dir  string
	fake *hypervisortest.Fake
	d    *Daemon
	stop func()
}

func newTestDaemon(t testing.TB) *testDaemon {
	t.Helper()
	dir := t.TempDir()
	// A home QEMU's user could enter, as home.Prepare requires.
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	td := &testDaemon{t: t, dir: dir, fake: &hypervisortest.Fake{Guest: guest}}
	td.start()
	t.Cleanup(func() { td.stop() })
	return td
}

// start runs a daemon of the home, as a daemon (re)started does.
func (td *testDaemon) start() {
	td.t.Helper()
	h, err := home.Prepare(filepath.Join(td.dir, "home"))
	if err != nil {
		td.t.Fatal(err)
	}
	kdir := filepath.Join(td.dir, "kernel")
	os.MkdirAll(filepath.Join(kdir, "kernel"), 0o755)
	os.WriteFile(filepath.Join(kdir, "kernel", "a.ko"), []byte("module"), 0o644)
	os.WriteFile(filepath.Join(kdir, "modules.dep"), []byte("kernel/a.ko:\n"), 0o644)
	os.WriteFile(filepath.Join(td.dir, "vmlinuz"), []byte("kernel"), 0o644)
	os.WriteFile(filepath.Join(td.dir, "init"), []byte("init"), 0o755)
	in := image.Inputs{Kernel: &kernel.Kernel{Version: "test", Image: filepath.Join(td.dir, "vmlinuz"), ModulesDir: kdir, Modules: []string{"kernel/a.ko"}},
		Init: filepath.Join(td.dir, "init")}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := New(ctx, Config{
		Home: h, Hypervisor: td.fake, ColdBoot: true, ProbeForwards: true,
		Firewall:     firewall.New(64055, func(context.Context, string, ...string) (string, error) { return "", nil }),
		HealthFloors: &limits.HealthFloors{},
		Inputs:       func(string, string) (image.Inputs, error) { return in, nil },
	})
	if err != nil {
		cancel()
		td.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	td.d = d
	td.stop = func() {
		cancel()
		if err := <-done; err != nil {
			td.t.Errorf("daemon: %v", err)
		}
	}
}

// restart stops the daemon and starts the next, on the same home and
// libvirt, as `vmfleet daemon stop` and the next command do.
func (td *testDaemon) restart() {
	td.t.Helper()
	td.stop()
	td.start()
}

// fleetYAML is fleet shop: web, at a time scale that checks every 100 ms.
func fleetYAML(extra string) string {
	return `name: shop
time_scale: 0.02
services:
  web:
    image: {binary: /bin/busybox}
    command: [/app/busybox]
    port: 8080
    instances: 2
    health: {interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
    balancer: {deregistration_delay: 0s}
    scaling: {min: 1, max: 4}
` + extra
}

func (td *testDaemon) apply(yaml string, dryRun bool) api.ApplyResult {
	td.t.Helper()
	file := filepath.Join(td.dir, "fleet.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		td.t.Fatal(err)
	}
	req, err := client.ReadFleet(file)
	if err != nil {
		td.t.Fatal(err)
	}
	req.DryRun = dryRun
	res, err := td.d.Apply(context.Background(), req)
	if err != nil {
		td.t.Fatalf("apply: %v", err)
	}
	return res
}

// inService waits until web has n instances in service, and returns the
// domains the fake runs.
func (td *testDaemon) inService(n int) []string {
	td.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		f, err := td.d.Fleet("shop")
		if err == nil && len(f.Services) == 1 && f.Services[0].InService == n && len(td.fake.Names()) == n {
			return td.fake.Names()
		}
	}
	f, err := td.d.Fleet("shop")
	td.t.Fatalf("web never had %d in service: %+v %v; domains %v", n, f, err, td.fake.Names())
	return nil
}

func (td *testDaemon) stored() []string {
	td.t.Helper()
	stacks, err := td.d.state.load(context.Background())
	if err != nil {
		td.t.Fatal(err)
	}
	var out []string
	for _, st := range stacks {
		for _, s := range st.Services {
			out = append(out, fmt.Sprintf("%s desired=%d", s.Group.Name, s.Group.Desired))
		}
	}
	return out
}

func (td *testDaemon) defines() int {
	n := 0
	for _, c := range td.fake.Calls() {
		if c.Method == "Define" {
			n++
		}
	}
	return n
}

func TestApplyBootsTheFleetAndAnUnchangedApplyChangesNothing(t *testing.T) {
	td := newTestDaemon(t)
	res := td.apply(fleetYAML(""), false)
	if len(res.Changes) == 0 || res.Changes[0].String() != "+ fleet shop: 1 services from "+filepath.Join(td.dir, "fleet.yaml")+", time scale 0.02" {
		t.Fatalf("first apply: %v", res.Changes)
	}
	td.inService(2)
	again := td.apply(fleetYAML(""), false)
	if len(again.Changes) != 0 || again.Generation != res.Generation {
		t.Errorf("an unchanged apply: changes %v, generation %d -> %d", again.Changes, res.Generation, again.Generation)
	}
}

func TestADryRunShowsAnEditAndChangesNothing(t *testing.T) {
	td := newTestDaemon(t)
	td.apply(fleetYAML(""), false)
	before := td.inService(2)
	res := td.apply(fleetYAML("    user_data: \"#!/bin/sh\\n\"\n    warm_pool: {min_size: 1}\n"), true)
	got := fmt.Sprint(res.Changes)
	if !strings.Contains(got, "user_data changed") || !strings.Contains(got, "warm_pool none -> ") {
		t.Errorf("diff of an edit to user data and the warm pool: %v", res.Changes)
	}
	time.Sleep(200 * time.Millisecond)
	if now := td.fake.Names(); !slices.Equal(now, before) || td.defines() != 2 {
		t.Errorf("a dry run changed the instances: %v -> %v, %d defines", before, now, td.defines())
	}
}

func TestAScaleIsStoredThenMade(t *testing.T) {
	td := newTestDaemon(t)
	td.apply(fleetYAML(""), false)
	td.inService(2)
	if _, err := td.d.Scale(context.Background(), "shop", map[string]int{"web": 5}); err == nil || !api.BadInput(err) {
		t.Errorf("scale beyond max: %v, want bad input", err)
	}
	if _, err := td.d.Scale(context.Background(), "shop", map[string]int{"web": 3}); err != nil {
		t.Fatal(err)
	}
	if got := td.stored(); !slices.Equal(got, []string{"shop-web desired=3"}) {
		t.Errorf("stored after the scale returned: %v", got)
	}
	td.inService(3)
}

// A restarted daemon takes the running instances back: none replaced,
// none added, the counts set by scale kept; and what it launches next
// still has the user data and the egress that were applied.
func TestARestartedDaemonAdoptsTheFleetAndReplacesNothing(t *testing.T) {
	td := newTestDaemon(t)
	td.apply(fleetYAML("    user_data: \"#!/bin/sh\\n\"\n    egress: {internet: true}\n"), false)
	td.inService(2)
	td.d.Scale(context.Background(), "shop", map[string]int{"web": 3})
	before := td.inService(3)
	defines := td.defines()
	td.restart()
	if now := td.inService(3); !slices.Equal(now, before) {
		t.Errorf("instances across the restart: %v -> %v", before, now)
	}
	time.Sleep(500 * time.Millisecond) // a roll would have launched by now
	if td.defines() != defines || !slices.Equal(td.fake.Names(), before) {
		t.Errorf("the next daemon launched %d instances: %v", td.defines()-defines, td.fake.Names())
	}
	if _, err := td.d.Scale(context.Background(), "shop", map[string]int{"web": 4}); err != nil {
		t.Fatal(err)
	}
	for _, name := range td.inService(4) {
		if slices.Contains(before, name) {
			continue
		}
		v, _ := booted.Load(strings.TrimPrefix(name, "vmfleet-shop-web-"))
		cfg, _ := v.(*guestconfig.Config)
		if cfg == nil || string(cfg.Metadata.UserData) != "#!/bin/sh\n" || !cfg.Internet {
			t.Errorf("an instance the next daemon launched booted with %+v, want the applied user data and internet", cfg)
		}
	}
}

func TestDownRemovesEveryInstanceAndRecordEvenWhenItsRequestIsGone(t *testing.T) {
	td := newTestDaemon(t)
	td.apply(fleetYAML(""), false)
	td.inService(2)
	gone, cancel := context.WithCancel(context.Background())
	cancel() // the client pressed Ctrl-C
	if err := td.d.Down(gone, "shop", 0); err != nil {
		t.Fatal(err)
	}
	if names, recs := td.fake.Names(), td.stored(); len(names) != 0 || len(recs) != 0 {
		t.Errorf("after down: domains %v, records %v", names, recs)
	}
	td.apply(fleetYAML(""), false) // up works again
	td.inService(2)
}

// A down the last daemon began is finished by the next one, which does
// not bring the fleet back.
func TestTheNextDaemonFinishesADownRecordedInTheStore(t *testing.T) {
	td := newTestDaemon(t)
	td.apply(fleetYAML(""), false)
	td.inService(2)
	if err := td.d.state.deleting(context.Background(), "shop"); err != nil {
		t.Fatal(err)
	}
	td.restart()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if len(td.fake.Names()) == 0 && len(td.stored()) == 0 {
			return
		}
	}
	t.Fatalf("after the restart: domains %v, records %v", td.fake.Names(), td.stored())
}

// Scale-in protection is the instance's own, as on EC2: kept in its
// domain's metadata, so the next daemon still spares it, whichever of
// the two a scale-in would have picked.
func TestProtectionOutlivesARestart(t *testing.T) {
	for i := range 2 {
		t.Run(fmt.Sprintf("instance %d protected", i), func(t *testing.T) {
			td := newTestDaemon(t)
			td.apply(fleetYAML(""), false)
			names := td.inService(2)
			if err := td.d.Protect(context.Background(), strings.TrimPrefix(names[i], "vmfleet-shop-web-"), true); err != nil {
				t.Fatal(err)
			}
			td.restart()
			td.inService(2)
			if _, err := td.d.Scale(context.Background(), "shop", map[string]int{"web": 1}); err != nil {
				t.Fatal(err)
			}
			if now := td.inService(1); now[0] != names[i] {
				t.Errorf("the scale-in after a restart kept %s, not the protected %s", now[0], names[i])
			}
		})
	}
}

// A first up whose balancer cannot have its address fails as bad input
// and leaves nothing behind: no instance, no fleet, no launch template.
func TestAFirstUpRefusedItsAddressLeavesNothingStored(t *testing.T) {
	td := newTestDaemon(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	file := filepath.Join(td.dir, "fleet.yaml")
	os.WriteFile(file, []byte(strings.Replace(fleetYAML(""), "deregistration_delay: 0s}", "deregistration_delay: 0s, listen: \""+taken.Addr().String()+"\"}", 1)), 0o644)
	req, err := client.ReadFleet(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := td.d.Apply(context.Background(), req); err == nil || !api.BadInput(err) {
		t.Fatalf("up with the balancer's address taken: %v, want bad input", err)
	}
	var templates []store.LaunchTemplate
	td.d.state.db.View(context.Background(), func(tx *store.Tx) (err error) { templates, err = tx.ListLaunchTemplates(); return err })
	if recs := td.stored(); len(recs) != 0 || len(templates) != 0 || len(td.fake.Names()) != 0 {
		t.Errorf("left behind: fleets %v, launch templates %v, domains %v", recs, templates, td.fake.Names())
	}
}
