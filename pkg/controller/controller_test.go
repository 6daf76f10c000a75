package controller

// These tests run the whole controller — bake, balancers, health checks,
// launches, lifecycle events, reloads — against the fake hypervisor, whose
// "guests" are HTTP servers on the forwarded ports. The real thing is
// covered on real VMs by cmd/vmfleet's integration tests.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/firewall"
	"github.com/vmfleet/vmfleet/pkg/fleetfile"
	"github.com/vmfleet/vmfleet/pkg/guestconfig"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/hypervisor/hypervisortest"
	"github.com/vmfleet/vmfleet/pkg/image"
	"github.com/vmfleet/vmfleet/pkg/instance"
	"github.com/vmfleet/vmfleet/pkg/kernel"
	"github.com/vmfleet/vmfleet/pkg/limits"
	"github.com/vmfleet/vmfleet/pkg/stack"
	"github.com/vmfleet/vmfleet/pkg/store"
)

var helloBin string // a static binary to bake; its bytes are all that matter here

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "controller-test-")
	if err != nil {
		panic(err)
	}
	helloBin = filepath.Join(dir, "hello")
	root, _ := exec.Command("go", "env", "GOMOD").Output()
	cmd := exec.Command("go", "build", "-o", helloBin, "./testdata/hello")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(root)))
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build hello: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// guests plays the VMs: each forwarded port gets an HTTP server that
// answers as the instance the guest config names.
type guests struct {
	mu   sync.Mutex
	sick map[string]bool
}

func (g *guests) start(spec hypervisor.DomainSpec, fwcfg map[string][]byte, hostPort, _ int) func() {
	cfg, err := guestconfig.Decode(fwcfg[guestconfig.FwCfgName])
	if err != nil {
		return nil
	}
	greeting := "hello"
	for _, kv := range cfg.Env {
		if v, ok := strings.CutPrefix(kv, "GREETING="); ok {
			greeting = v
		}
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", hostPort))
	if err != nil {
		return nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s from %s", greeting, cfg.InstanceID)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.sick[cfg.InstanceID] {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	return func() { srv.Close() }
}

type harness struct {
	t      *testing.T
	fake   *hypervisortest.Fake
	guests *guests
	ctrl   *Controller
	dir    string
	cancel context.CancelFunc
	done   chan error
	events chan Event
	store  *image.Store
	inputs image.Inputs
	db     *store.Store // where the stacks are stored, as the daemon's
}

const fleetYAML = `name: shop
time_scale: 0.02 # checks every 100ms: unit tests run below the emulation floors
services:
%s`

func serviceYAML(name string, instances int, greeting string, deps ...string) string {
	s := fmt.Sprintf(`  %s:
    image: {binary: %s}
    command: ["/app/hello"]
    env: {GREETING: %q}
    port: 8080
    instances: %d
    cpu: 0.5
    health: {type: http, path: /healthz, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
    balancer: {deregistration_delay: 0s}
`, name, helloBin, greeting, instances)
	if len(deps) > 0 {
		s += fmt.Sprintf("    depends_on: [%s]\n", strings.Join(deps, ", "))
	}
	return s
}

func parseFleet(t *testing.T, dir string, services ...string) *fleetfile.Fleet {
	t.Helper()
	f, err := fleetfile.Parse(filepath.Join(dir, "fleet.yaml"), []byte(fmt.Sprintf(fleetYAML, strings.Join(services, ""))))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func start(t *testing.T, services ...string) *harness {
	t.Helper()
	h := boot(t, nil, services...)
	h.waitReady()
	return h
}

// boot runs a controller of services, its stack changed by edit (when
// not nil) before it starts; it does not wait for them.
func boot(t *testing.T, edit func(*stack.Stack), services ...string) *harness {
	t.Helper()
	dir := t.TempDir()
	// A stand-in kernel: the bake only copies its files.
	modDir := filepath.Join(dir, "modules")
	os.MkdirAll(filepath.Join(modDir, "kernel"), 0o755)
	os.WriteFile(filepath.Join(modDir, "kernel", "a.ko"), []byte("module"), 0o644)
	os.WriteFile(filepath.Join(modDir, "modules.dep"), []byte("kernel/a.ko:\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "vmlinuz"), []byte("kernel"), 0o644)
	os.WriteFile(filepath.Join(dir, "init"), []byte("init"), 0o755)
	images, err := image.OpenStore(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, fake: &hypervisortest.Fake{}, guests: &guests{sick: map[string]bool{}}, dir: dir, done: make(chan error, 1), events: make(chan Event, 1000)}
	h.fake.Guest = h.guests.start
	h.store = images
	h.inputs = image.Inputs{Kernel: &kernel.Kernel{Version: "test", Image: filepath.Join(dir, "vmlinuz"), ModulesDir: modDir, Modules: []string{"kernel/a.ko"}},
		Init: filepath.Join(dir, "init")}
	db, err := store.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h.db = db
	f := parseFleet(t, dir, services...)
	baked := h.bake(f)
	st := h.stack(f, baked)
	if edit != nil {
		edit(st)
	}
	h.ctrl = New(Options{
		Stack:                  st,
		Images:                 baked,
		Instances:              &instance.Manager{HV: h.fake, Dir: filepath.Join(dir, "instances"), Firewall: acceptingFirewall()},
		HealthCheckGracePeriod: time.Minute,
		HealthFloors:           &limits.HealthFloors{}, // no guest to emulate: the scaled periods run as they are
		Observe: func(ev Event) {
			select {
			case h.events <- ev:
			default:
			}
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	if err := h.ctrl.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	go func() { h.done <- h.ctrl.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-h.done
	})
	return h
}

// bake bakes every service of f, as the daemon does before it hands a
// fleet to its controller.
func (h *harness) bake(f *fleetfile.Fleet) map[string]*image.Manifest {
	h.t.Helper()
	out := map[string]*image.Manifest{}
	for _, s := range f.Services {
		res, err := h.store.Bake(context.Background(), image.Recipe{Name: f.Name + "-" + s.Name, Binary: s.Image.Binary,
			Command: s.Command, Port: s.Port, Env: envOf(s.Env)}, h.inputs)
		if err != nil {
			h.t.Fatal(err)
		}
		out[s.Name] = res.Manifest
	}
	return out
}

func envOf(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// stack compiles f with its images' digests and stores it, as the
// daemon does before a controller runs it: launch template versions are
// numbered, and a count set by scale stands (stack.Inherit).
func (h *harness) stack(f *fleetfile.Fleet, images map[string]*image.Manifest) *stack.Stack {
	h.t.Helper()
	digests := map[string]string{}
	for name, m := range images {
		digests[name] = m.Digest
	}
	st := stack.Compile(f, digests, 0)
	err := h.db.Update(context.Background(), func(tx *store.Tx) error {
		cur, err := stack.Load(tx, f.Name)
		if err == nil {
			if h.ctrl != nil { // the counts the group runs now
				for _, s := range h.ctrl.Status().Services {
					if svc := cur.Service(s.Name); svc != nil {
						svc.Group.Desired = s.Desired
					}
				}
			}
			st.Inherit(&cur)
		}
		return stack.Save(tx, &st)
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return &st
}

// reload bakes f, stores it and hands it to the running controller.
func (h *harness) reload(f *fleetfile.Fleet) error {
	images := h.bake(f)
	return h.ctrl.Reload(context.Background(), h.stack(f, images), images)
}

func (h *harness) waitFor(what string, cond func(api.Fleet) bool) api.Fleet {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if st := h.ctrl.Status(); cond(st) {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.t.Fatalf("timed out waiting for %s; status %+v", what, h.ctrl.Status())
	return api.Fleet{}
}

func (h *harness) waitReady() api.Fleet {
	h.t.Helper()
	return h.waitFor("every service healthy", api.Fleet.Ready)
}

func serviceOf(st api.Fleet, name string) (api.Service, bool) {
	for _, s := range st.Services {
		if s.Name == name {
			return s, true
		}
	}
	return api.Service{}, false
}

func ids(s api.Service) []string {
	var out []string
	for _, i := range s.Instances {
		out = append(out, i.ID)
	}
	return out
}

func get(t *testing.T, addr string) string {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestAKilledInstanceIsReplacedWithANewOne(t *testing.T) {
	h := start(t, serviceYAML("web", 2, "hi"))
	web, _ := serviceOf(h.ctrl.Status(), "web")
	victim := web.Instances[0]
	h.fake.Kill(victim.Domain)
	st := h.waitFor("a replacement in service", func(st api.Fleet) bool {
		w, _ := serviceOf(st, "web")
		return !slices.Contains(ids(w), victim.ID) && st.Ready()
	})
	if _, ok := h.fake.Domain(victim.Domain); ok {
		t.Errorf("the killed domain %s is still defined", victim.Domain)
	}
	w, _ := serviceOf(st, "web")
	if len(w.Instances) != 2 {
		t.Errorf("%d instances after the replacement, want 2", len(w.Instances))
	}
}

func TestAnInstanceThatTurnsUnhealthyIsReplaced(t *testing.T) {
	h := start(t, serviceYAML("web", 2, "hi"))
	web, _ := serviceOf(h.ctrl.Status(), "web")
	victim := web.Instances[1].ID
	h.guests.mu.Lock()
	h.guests.sick[victim] = true
	h.guests.mu.Unlock()
	h.waitFor("the sick instance replaced", func(st api.Fleet) bool {
		w, _ := serviceOf(st, "web")
		return !slices.Contains(ids(w), victim) && st.Ready()
	})
}

func TestScaleLaunchesAndRetires(t *testing.T) {
	h := start(t, serviceYAML("web", 1, "hi"))
	if err := h.ctrl.Scale(context.Background(), map[string]int{"web": 3}); err != nil {
		t.Fatal(err)
	}
	h.waitFor("3 in service", func(st api.Fleet) bool { w, _ := serviceOf(st, "web"); return w.InService == 3 })
	if err := h.ctrl.Scale(context.Background(), map[string]int{"web": 1}); err != nil {
		t.Fatal(err)
	}
	h.waitFor("1 left", func(st api.Fleet) bool { w, _ := serviceOf(st, "web"); return len(w.Instances) == 1 && st.Ready() })
}

func TestScaleOfSeveralServicesIsAllOrNothing(t *testing.T) {
	h := start(t, serviceYAML("a", 1, "a"), serviceYAML("b", 1, "b"))
	err := h.ctrl.Scale(context.Background(), map[string]int{"a": 3, "nosuch": 2})
	if err == nil || !strings.Contains(err.Error(), "no service") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("scaling with an unknown service: %v", err)
	}
	if err := h.ctrl.Scale(context.Background(), map[string]int{"a": 2, "b": -1}); err == nil {
		t.Fatal("a negative count was accepted")
	}
	for _, s := range h.ctrl.Status().Services {
		if s.Desired != 1 {
			t.Errorf("service %s desired %d after refused scales, want 1", s.Name, s.Desired)
		}
	}
}

func TestACPUOrMemoryChangeRollsTheService(t *testing.T) {
	h := start(t, serviceYAML("web", 1, "v1"))
	before := ids(func() api.Service { w, _ := serviceOf(h.ctrl.Status(), "web"); return w }())
	changed := strings.Replace(serviceYAML("web", 1, "v1"), "cpu: 0.5", "cpu: 0.25", 1)
	if !strings.Contains(changed, "cpu: 0.25") {
		t.Fatalf("the test's edit did not apply: %s", changed)
	}
	if err := h.reload(parseFleet(t, h.dir, changed)); err != nil {
		t.Fatal(err)
	}
	h.waitFor("a new instance with the new cpu", func(st api.Fleet) bool {
		w, _ := serviceOf(st, "web")
		return len(w.Instances) == 1 && !slices.Contains(before, w.Instances[0].ID) && st.Ready()
	})
	for _, name := range h.fake.Names() {
		d, _ := h.fake.Domain(name)
		if d.Spec.CPUQuota != 25000 {
			t.Errorf("domain %s has CPU quota %d, want 25000 (cpu 0.25)", name, d.Spec.CPUQuota)
		}
	}
}

func TestDependentsLearnTheirDependenciesBalancer(t *testing.T) {
	h := start(t, serviceYAML("catalog", 1, "c"), serviceYAML("web", 1, "w", "catalog"))
	st := h.ctrl.Status()
	cat, _ := serviceOf(st, "catalog")
	_, port, _ := net.SplitHostPort(cat.Listen)
	web, _ := serviceOf(st, "web")
	d, _ := h.fake.Domain(web.Instances[0].Domain)
	cfg, err := guestconfig.Decode(d.FwCfg[guestconfig.FwCfgName])
	if err != nil {
		t.Fatal(err)
	}
	if want := "CATALOG_ADDR=10.0.2.2:" + port; !slices.Contains(cfg.Env, want) {
		t.Errorf("web's env %v lacks %s", cfg.Env, want)
	}
}

func TestReloadRollsOutChangesAndAddsAndRemovesServices(t *testing.T) {
	h := start(t, serviceYAML("web", 2, "v1"), serviceYAML("old", 1, "o"))
	st := h.ctrl.Status()
	web, _ := serviceOf(st, "web")
	before := ids(web)
	oldSvc, _ := serviceOf(st, "old")

	f := parseFleet(t, h.dir, serviceYAML("web", 2, "v2"), serviceYAML("api", 1, "a"))
	if err := h.reload(f); err != nil {
		t.Fatal(err)
	}
	st = h.waitFor("the roll-out, api up and old gone", func(st api.Fleet) bool {
		w, _ := serviceOf(st, "web")
		_, hasOld := serviceOf(st, "old")
		a, hasAPI := serviceOf(st, "api")
		for _, id := range ids(w) {
			if slices.Contains(before, id) {
				return false
			}
		}
		return !hasOld && hasAPI && a.InService == 1 && w.InService == 2 && st.Ready()
	})
	web, _ = serviceOf(st, "web")
	for i := 0; i < 2; i++ {
		if got := get(t, web.Listen); !strings.HasPrefix(got, "v2 from") {
			t.Errorf("after the roll-out web answered %q", got)
		}
	}
	if c, err := net.DialTimeout("tcp", oldSvc.Listen, time.Second); err == nil {
		c.Close()
		t.Errorf("the removed service's balancer still listens on %s", oldSvc.Listen)
	}
}

func TestReloadRefusesToChangeARunningBalancer(t *testing.T) {
	h := start(t, serviceYAML("web", 1, "v1"))
	for _, change := range [][2]string{
		{"interval: 5s", "interval: 10s"},
		{"deregistration_delay: 0s", "deregistration_delay: 1s"},
		{"deregistration_delay: 0s", "deregistration_delay: 0s, replay: false"},
	} {
		changed := strings.Replace(serviceYAML("web", 1, "v1"), change[0], change[1], 1)
		err := h.reload(parseFleet(t, h.dir, changed))
		if err == nil || !strings.Contains(err.Error(), "balancer settings changed") {
			t.Errorf("reload with %s: want ErrRestartNeeded, got %v", change[1], err)
		}
	}
}

// down -t: the guests get the grace asked for, none with -t 0s.
func TestDownGivesEachGuestTheGraceAsked(t *testing.T) {
	for _, grace := range []time.Duration{0, 2 * time.Second} {
		h := start(t, serviceYAML("web", 2, "w"))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := h.ctrl.Down(ctx, grace); err != nil {
			t.Fatal(err)
		}
		asked := 0
		for _, c := range h.fake.Calls() {
			if c.Method == "Shutdown" {
				asked++
			}
		}
		if want := map[bool]int{true: 0, false: 2}[grace == 0]; asked != want {
			t.Errorf("down -t %v asked %d guests to shut down, want %d", grace, asked, want)
		}
	}
}

// Scale-in protection spares an instance a scale-in, not a down: before,
// a down of a group with a protected instance waited for it forever.
func TestDownRemovesProtectedInstancesToo(t *testing.T) {
	h := start(t, serviceYAML("web", 2, "w"))
	web, _ := serviceOf(h.ctrl.Status(), "web")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.ctrl.Protect(ctx, []string{web.Instances[0].ID}, true); err != nil {
		t.Fatal(err)
	}
	if err := h.ctrl.Down(ctx, 0); err != nil {
		t.Fatalf("down with a protected instance: %v", err)
	}
	if names := h.fake.Names(); len(names) != 0 {
		t.Fatalf("domains left: %v", names)
	}
}

func TestDownStopsDependentsBeforeTheirDependencies(t *testing.T) {
	h := start(t, serviceYAML("catalog", 1, "c"), serviceYAML("web", 2, "w", "catalog"))
	st := h.ctrl.Status()
	cat, _ := serviceOf(st, "catalog")
	web, _ := serviceOf(st, "web")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.ctrl.Down(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if names := h.fake.Names(); len(names) != 0 {
		t.Errorf("domains left after down: %v", names)
	}
	last := func(domain string) int {
		at := -1
		for i, c := range h.fake.Calls() {
			if c.Method == "Destroy" && c.Domain == domain {
				at = i
			}
		}
		return at
	}
	for _, w := range web.Instances {
		if last(w.Domain) > last(cat.Instances[0].Domain) {
			t.Errorf("web instance %s was destroyed after catalog's", w.ID)
		}
	}
}

func TestALaunchErrorRetryingCannotCureStopsLaunchesAndIsReported(t *testing.T) {
	h := start(t, serviceYAML("web", 1, "hi"))
	h.fake.FailOn("Start", errors.New("could not open '/x/overlay.qcow2': Permission denied"))
	if err := h.ctrl.Scale(context.Background(), map[string]int{"web": 2}); err != nil {
		t.Fatal(err)
	}
	st := h.waitFor("the launch error reported", func(st api.Fleet) bool {
		w, _ := serviceOf(st, "web")
		return strings.Contains(w.LaunchError, "Permission denied")
	})
	starts := func() int {
		n := 0
		for _, c := range h.fake.Calls() {
			if c.Method == "Start" {
				n++
			}
		}
		return n
	}
	before := starts()
	time.Sleep(3 * time.Second) // the transient backoff would have retried twice by now
	if n := starts(); n != before {
		t.Errorf("launches went on after a permanent error: %d more Start calls", n-before)
	}
	if w, _ := serviceOf(st, "web"); w.Current() != 1 {
		t.Errorf("the running instance should keep serving: %+v", w)
	}
	// A changed service clears it and launches again.
	h.fake.FailOn("Start", nil)
	if err := h.reload(parseFleet(t, h.dir, strings.Replace(serviceYAML("web", 2, "hi"), "cpu: 0.5", "cpu: 0.25", 1))); err != nil {
		t.Fatal(err)
	}
	h.waitFor("two in service after the fix", func(st api.Fleet) bool {
		w, _ := serviceOf(st, "web")
		return w.LaunchError == "" && st.Ready() && w.Current() == 2
	})
}

// policyStore stands for where desired state is stored: it keeps what a
// policy's decision wrote (or refuses it), then hands it back to the
// controller through Scale, as the daemon does.
type policyStore struct {
	mu     sync.Mutex
	ctrl   *Controller
	writes []int
	refuse bool
}

func (p *policyStore) setDesired(ctx context.Context, svc string, n int) error {
	p.mu.Lock()
	if p.refuse {
		p.mu.Unlock()
		return errors.New("disk full")
	}
	p.writes = append(p.writes, n)
	ctrl := p.ctrl
	p.mu.Unlock()
	return ctrl.Scale(ctx, map[string]int{svc: n})
}

func (p *policyStore) stored(n int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Contains(p.writes, n)
}

// The controller's target tracking: metrics handed to Observe move the
// desired count, with AWS-style causes, and the new instances launch.
// Each decision is stored before the group acts on it: a count the store
// refused is never acted on.
func TestObservedLoadScalesAServiceOutAndBackIn(t *testing.T) {
	h := start(t, serviceYAML("other", 1, "o")) // for its fake hypervisor and bake; the fleet under test is below
	dir := t.TempDir()
	f, err := fleetfile.Parse(filepath.Join(dir, "fleet.yaml"), []byte(fmt.Sprintf(`name: auto
time_scale: 0.001
services:
  api:
    image: {binary: %s}
    command: ["/app/hello"]
    port: 8080
    cpu: 0.5
    health: {type: http, path: /healthz, interval: 100s, timeout: 50s, healthy_threshold: 2, unhealthy_threshold: 2}
    balancer: {deregistration_delay: 0s}
    scaling: {min: 1, max: 3, instance_warmup: 100s, target_tracking: [{metric: cpu_utilization, target: 50}]}
`, helloBin)))
	if err != nil {
		t.Fatal(err)
	}
	ps := &policyStore{}
	images := h.bake(f)
	ctrl := New(Options{Stack: h.stack(f, images), Images: images, Instances: &instance.Manager{HV: h.fake, Dir: filepath.Join(dir, "instances"), Firewall: acceptingFirewall()},
		HealthFloors: &limits.HealthFloors{}, SetDesired: ps.setDesired,
		Observe: func(ev Event) {
			select {
			case h.events <- ev:
			default:
			}
		}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	if err := ctrl.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	ps.ctrl = ctrl
	go func() { done <- ctrl.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	load := func(cpu float64, until func(api.Fleet) bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			st := ctrl.Status()
			if d := st.Services[0].Desired; d != 1 && !ps.stored(d) {
				t.Fatalf("the group acts on desired %d, which was never stored", d)
			}
			if until(st) {
				return
			}
			var ims []api.InstanceMetrics
			for _, i := range st.Services[0].Instances {
				ims = append(ims, api.InstanceMetrics{ID: i.ID, CPUPercent: cpu})
			}
			ctrl.Observe(time.Now(), 10*time.Millisecond, []api.ServiceMetrics{{Fleet: "auto", Service: "api", Instances: ims}})
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("timed out; status %+v", ctrl.Status())
	}
	in := func(n int) func(api.Fleet) bool {
		return func(st api.Fleet) bool { return st.Services[0].Desired == n && st.Ready() }
	}
	load(0, in(1))
	ps.mu.Lock()
	ps.refuse = true
	ps.mu.Unlock()
	refused := false
	load(100, func(api.Fleet) bool {
		for len(h.events) > 0 {
			ev := <-h.events
			refused = refused || ev.Kind == "error" && strings.Contains(ev.Message, "disk full")
		}
		return refused
	})
	if d := ctrl.Status().Services[0].Desired; d != 1 {
		t.Fatalf("desired %d after the store refused the policy's count, want 1", d)
	}
	ps.mu.Lock()
	ps.refuse = false
	ps.mu.Unlock()
	load(100, func(st api.Fleet) bool { return st.Services[0].Desired >= 2 && st.Ready() })
	load(1, in(1))
	var out, back bool
	for len(h.events) > 0 {
		ev := <-h.events
		out = out || ev.Kind == "autoscaling" && strings.Contains(ev.Message, "AlarmHigh-cpu_utilization in state ALARM") && strings.Contains(ev.Message, "from 1 to 2")
		back = back || ev.Kind == "autoscaling" && strings.Contains(ev.Message, "AlarmLow-cpu_utilization") && strings.Contains(ev.Message, "to 1.")
	}
	if !out || !back {
		t.Errorf("want a scale-out from 1 to 2 and a scale-in to 1 among the events (out %v, in %v)", out, back)
	}
}

// acceptingFirewall is a firewall whose iptables takes every command and
// holds no rules: enough for guests with dependencies to launch.
func acceptingFirewall() *firewall.Guard {
	return firewall.New(64055, func(context.Context, string, ...string) (string, error) { return "", nil })
}
