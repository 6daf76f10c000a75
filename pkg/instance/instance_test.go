package instance

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/guestconfig"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/hypervisor/hypervisortest"
	"github.com/vmfleet/vmfleet/pkg/image"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

// testImage is a baked image whose disk is a real, small qcow2, so Launch
// can make its overlay with qemu-img. Kernel and initrd are only paths:
// the fake hypervisor boots nothing.
func testImage(t *testing.T) *image.Manifest {
	t.Helper()
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img not installed (Debian: qemu-utils); Launch needs it for the overlay")
	}
	dir := t.TempDir()
	disk := filepath.Join(dir, "base.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", disk, "16M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img create: %v: %s", err, out)
	}
	return &image.Manifest{
		Name:    "web",
		Digest:  "3f5a1c0de2b94e7a8c6d0f1e2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d",
		Source:  "binary",
		Command: []string{"/app/web", "--listen", ":8080"},
		Env:     []string{"PORT=8080", "GOMAXPROCS=1"},
		Port:    8080,
		Kernel:  filepath.Join(dir, "vmlinuz"),
		Initrd:  filepath.Join(dir, "initrd.img"),
		Disk:    disk,
	}
}

// initramfsOf gives an image an initramfs of size bytes.
func initramfsOf(t *testing.T, size int64) func(*image.Manifest) {
	return func(img *image.Manifest) {
		if err := os.WriteFile(img.Initrd, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(img.Initrd, size); err != nil {
			t.Fatal(err)
		}
	}
}

func newManager(t *testing.T) (*Manager, *hypervisortest.Fake) {
	t.Helper()
	f := &hypervisortest.Fake{}
	return &Manager{HV: f, Dir: filepath.Join(t.TempDir(), "instances")}, f
}

// launch launches and fails the test on error.
func launch(t *testing.T, m *Manager, o Options) *Instance {
	t.Helper()
	inst, err := m.Launch(context.Background(), o)
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	return inst
}

// defineSpec returns the spec Launch handed to Define.
func defineSpec(t *testing.T, f *hypervisortest.Fake, domain string) hypervisor.DomainSpec {
	t.Helper()
	for _, c := range f.Calls() {
		if c.Method == "Define" && c.Domain == domain {
			return c.Args[0].(hypervisor.DomainSpec)
		}
	}
	t.Fatalf("no Define call for %s in %+v", domain, f.Calls())
	return hypervisor.DomainSpec{}
}

func callOf(t *testing.T, f *hypervisortest.Fake, method, domain string) hypervisortest.Call {
	t.Helper()
	for _, c := range f.Calls() {
		if c.Method == method && c.Domain == domain {
			return c
		}
	}
	t.Fatalf("no %s call for %s in %+v", method, domain, f.Calls())
	return hypervisortest.Call{}
}

// assertNothingLeft checks that no domain exists (transient ones included)
// and that the instances directory holds nothing.
func assertNothingLeft(t *testing.T, m *Manager, f *hypervisortest.Fake) {
	t.Helper()
	if names := f.Names(); len(names) != 0 {
		t.Errorf("domains left behind: %v", names)
	}
	entries, err := os.ReadDir(m.Dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left behind in %s: %s", m.Dir, e.Name())
	}
}

func TestLaunchDefinesStartsPausedCapsForwardsThenResumes(t *testing.T) {
	m, f := newManager(t)
	inst := launch(t, m, Options{Image: testImage(t), MemoryBytes: 512 << 20})

	// Paused first, so the caps and the forward hold before the guest
	// runs a single instruction.
	want := []string{"Define", "Start", "SetMemoryHardLimit", "ForwardPort", "Resume"}
	if got := f.Methods(inst.Domain); !slices.Equal(got, want) {
		t.Fatalf("calls for %s: %v, want %v", inst.Domain, got, want)
	}
	if paused := callOf(t, f, "Start", inst.Domain).Args[0]; paused != true {
		t.Errorf("Start(paused=%v), want paused", paused)
	}
	// The hard limit covers the whole QEMU process, not just guest RAM.
	if got := callOf(t, f, "SetMemoryHardLimit", inst.Domain).Args[0]; got != int64(512<<20+qemuOverhead) {
		t.Errorf("hard limit %v, want guest RAM + overhead = %d", got, int64(512<<20+qemuOverhead))
	}
	if got := callOf(t, f, "ForwardPort", inst.Domain).Args; got[0] != inst.HostPort || got[1] != 8080 {
		t.Errorf("ForwardPort%v, want (%d, 8080)", got, inst.HostPort)
	}
	d, ok := f.Domain(inst.Domain)
	if !ok || d.State != hypervisor.Running {
		t.Errorf("domain after Launch: %+v (found %v), want running", d, ok)
	}
	if inst.State != hypervisor.Running {
		t.Errorf("instance state %q, want running", inst.State)
	}
}

func TestLaunchWithoutAServicePortForwardsNothing(t *testing.T) {
	m, f := newManager(t)
	img := testImage(t)
	img.Port = 0
	inst := launch(t, m, Options{Image: img})
	if got, want := f.Methods(inst.Domain), []string{"Define", "Start", "SetMemoryHardLimit", "Resume"}; !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	if inst.HostPort != 0 || inst.Address != "" || inst.GuestPort != 0 {
		t.Errorf("port %d address %q guest port %d for an image without a port", inst.HostPort, inst.Address, inst.GuestPort)
	}
}

func TestLaunchPicksAFreeHostPortWhenNoneIsGiven(t *testing.T) {
	m, _ := newManager(t)
	inst := launch(t, m, Options{Image: testImage(t)})
	if inst.HostPort <= 0 || inst.HostPort > 65535 {
		t.Fatalf("host port %d", inst.HostPort)
	}
	if want := net.JoinHostPort("127.0.0.1", strconv.Itoa(inst.HostPort)); inst.Address != want {
		t.Errorf("address %q, want %q (forwards bind loopback only)", inst.Address, want)
	}
}

func TestLaunchUsesTheChosenHostPort(t *testing.T) {
	m, f := newManager(t)
	port := freeTestPort(t)
	inst := launch(t, m, Options{Image: testImage(t), HostPort: port})
	if inst.HostPort != port {
		t.Errorf("host port %d, want %d", inst.HostPort, port)
	}
	if got := callOf(t, f, "ForwardPort", inst.Domain).Args[0]; got != port {
		t.Errorf("forwarded host port %v, want %d", got, port)
	}
}

func TestLaunchSizesTheDomainFromTheOptions(t *testing.T) {
	for _, tc := range []struct {
		cpu       float64
		wantVCPUs uint
		wantQuota int64
	}{
		{0.5, 1, 50000},
		{1, 1, 100000},
		{1.5, 2, 150000},
		{2, 2, 200000},
		// 0.29 * 100000 is 28999.999... in floating point.
		{0.29, 1, 29000},
		{0.01, 1, 1000},
	} {
		m, f := newManager(t)
		inst := launch(t, m, Options{Image: testImage(t), CPU: tc.cpu, MemoryBytes: 384 << 20})
		s := defineSpec(t, f, inst.Domain)
		if s.VCPUs != tc.wantVCPUs || s.CPUQuota != tc.wantQuota || s.CPUPeriod != cpuPeriod {
			t.Errorf("cpu %g: vcpus %d quota %d period %d, want %d %d %d", tc.cpu, s.VCPUs, s.CPUQuota, s.CPUPeriod, tc.wantVCPUs, tc.wantQuota, cpuPeriod)
		}
		if s.MemoryMiB != 384 {
			t.Errorf("cpu %g: memory %d MiB, want 384", tc.cpu, s.MemoryMiB)
		}
	}
}

func TestLaunchDefaultsToOneCoreAnd256MiB(t *testing.T) {
	// The zero Options mean the defaults, as documented on Options.
	m, f := newManager(t)
	inst := launch(t, m, Options{Image: testImage(t)})
	s := defineSpec(t, f, inst.Domain)
	if s.VCPUs != 1 || s.CPUQuota != cpuPeriod || s.MemoryMiB != limits.DefaultMemory>>20 {
		t.Errorf("vcpus %d quota %d memory %d MiB, want 1 %d %d", s.VCPUs, s.CPUQuota, s.MemoryMiB, cpuPeriod, limits.DefaultMemory>>20)
	}
	if inst.Service != "web" {
		t.Errorf("service %q, want the image name", inst.Service)
	}
}

func TestLaunchBootsTheImagesKernelFromAnOverlayOnItsDisk(t *testing.T) {
	m, f := newManager(t)
	img := testImage(t)
	inst := launch(t, m, Options{Image: img})
	s := defineSpec(t, f, inst.Domain)

	if s.Name != inst.Domain || inst.Domain != DomainName("", "web", inst.ID) {
		t.Errorf("domain %q / %q, want %q", s.Name, inst.Domain, DomainName("", "web", inst.ID))
	}
	if s.Accel != hypervisor.TCG || s.TBCacheMiB != tbCacheMiB {
		t.Errorf("accel %q tb-cache %d, want the hypervisor's (qemu) and %d", s.Accel, s.TBCacheMiB, tbCacheMiB)
	}
	if s.Kernel != img.Kernel || s.Initrd != img.Initrd || s.Cmdline != Cmdline {
		t.Errorf("kernel %q initrd %q cmdline %q", s.Kernel, s.Initrd, s.Cmdline)
	}
	if want := filepath.Join(inst.Dir, "overlay.qcow2"); s.Disk != want {
		t.Errorf("disk %q, want the overlay %q", s.Disk, want)
	}
	if want := filepath.Join(inst.Dir, "console.log"); s.ConsoleLog != want || inst.Console != want {
		t.Errorf("console %q / %q, want %q", s.ConsoleLog, inst.Console, want)
	}
	if filepath.Dir(inst.Dir) != m.Dir || filepath.Base(inst.Dir) != inst.ID {
		t.Errorf("instance dir %q, want %s/%s", inst.Dir, m.Dir, inst.ID)
	}

	// libvirt opens the backing file itself and needs its format named.
	out, err := exec.Command("qemu-img", "info", "--output=json", s.Disk).Output()
	if err != nil {
		t.Fatalf("qemu-img info %s: %v", s.Disk, err)
	}
	var info struct {
		Format        string `json:"format"`
		Backing       string `json:"backing-filename"`
		BackingFormat string `json:"backing-filename-format"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatalf("qemu-img info: %v: %s", err, out)
	}
	if info.Format != "qcow2" || info.Backing != img.Disk || info.BackingFormat != "qcow2" {
		t.Errorf("overlay %+v, want qcow2 backed by %s (qcow2)", info, img.Disk)
	}
}

func TestLaunchHandsTheGuestItsConfigThroughFwCfg(t *testing.T) {
	m, f := newManager(t)
	img := testImage(t)
	inst := launch(t, m, Options{Image: img, Service: "api", Env: []string{"LOG_LEVEL=debug", "PORT=9090"}, StopTimeout: 3 * time.Second})
	s := defineSpec(t, f, inst.Domain)

	path := s.FwCfg[guestconfig.FwCfgName]
	if filepath.Dir(path) != inst.Dir {
		t.Fatalf("fw_cfg %s from %q, want a file in %s", guestconfig.FwCfgName, path, inst.Dir)
	}
	b := startedFwCfg(t, f, inst.Domain)
	gc, err := guestconfig.Decode(b)
	if err != nil {
		t.Fatalf("guest config does not decode: %v\n%s", err, b)
	}
	if gc.InstanceID != inst.ID || gc.Service != "api" {
		t.Errorf("guest config id %q service %q, want %q api", gc.InstanceID, gc.Service, inst.ID)
	}
	if !slices.Equal(gc.Command, img.Command) {
		t.Errorf("command %q, want the image's %q", gc.Command, img.Command)
	}
	// The image's env first, then vmfleet's, then the user's: the guest's
	// init applies them in order, so the user's PORT wins over the image's.
	want := []string{"PORT=8080", "GOMAXPROCS=1", "VMFLEET_INSTANCE_ID=" + inst.ID, "VMFLEET_SERVICE=api", "LOG_LEVEL=debug", "PORT=9090"}
	if !slices.Equal(gc.Env, want) {
		t.Errorf("env %q, want %q", gc.Env, want)
	}
	if time.Duration(gc.StopTimeout) != 3*time.Second {
		t.Errorf("stop timeout %v, want 3s", time.Duration(gc.StopTimeout))
	}
	if gc.Network != guestconfig.UserNetwork {
		t.Errorf("network %+v, want the user-mode layout", gc.Network)
	}
	if !strings.HasPrefix(gc.Hostname, "api-") {
		t.Errorf("hostname %q, want api-...", gc.Hostname)
	}
}

func TestLaunchTellsTheGuestItsFleet(t *testing.T) {
	m, f := newManager(t)
	inst := launch(t, m, Options{Image: testImage(t), Fleet: "prod"})
	gc, err := guestconfig.Decode(startedFwCfg(t, f, inst.Domain))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(gc.Env, "VMFLEET_FLEET=prod") {
		t.Errorf("env %q lacks VMFLEET_FLEET=prod", gc.Env)
	}
}

func TestLaunchedInstanceIsListedFromItsDomainMetadata(t *testing.T) {
	m, _ := newManager(t)
	inst := launch(t, m, Options{Image: testImage(t), Fleet: "prod"})

	// A fresh manager on the same hypervisor: libvirt is the only record.
	all, err := (&Manager{HV: m.HV, Dir: m.Dir}).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 {
		t.Fatalf("List: %d instances, want 1", len(all))
	}
	got := *all[0]
	if !got.Created.Equal(inst.Created) {
		t.Errorf("created %v, want %v", got.Created, inst.Created)
	}
	got.Created = inst.Created
	if !reflect.DeepEqual(got, *inst) {
		t.Errorf("listed\n%+v\nlaunched\n%+v", got, *inst)
	}
}

func TestListSkipsDomainsWithUnreadableMetadataAndSortsByCreation(t *testing.T) {
	m, f := newManager(t)
	older := metadata{ID: "i-000000000002", Service: "web", Dir: "/x/i-000000000002", Created: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	newer := metadata{ID: "i-000000000001", Service: "web", Dir: "/x/i-000000000001", Created: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)}
	for _, md := range []metadata{newer, older} {
		x, err := md.marshal()
		if err != nil {
			t.Fatal(err)
		}
		f.Add(DomainName(md.Fleet, md.Service, md.ID), hypervisor.Shutoff, x)
	}
	f.Add("vmfleet-broken", hypervisor.Running, "<vmfleet:instance>")
	f.Add("vmfleet-noid", hypervisor.Running, `<instance xmlns="`+hypervisor.MetadataNamespace+`"><service>x</service></instance>`)

	all, err := m.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, i := range all {
		ids = append(ids, i.ID)
	}
	if want := []string{"i-000000000002", "i-000000000001"}; !slices.Equal(ids, want) {
		t.Errorf("listed %v, want %v (oldest first, broken ones skipped)", ids, want)
	}
}

func TestGetFindsAnInstanceByIDAndByDomainName(t *testing.T) {
	m, _ := newManager(t)
	img := testImage(t)
	a := launch(t, m, Options{Image: img})
	b := launch(t, m, Options{Image: img})
	for _, ref := range []string{b.ID, b.Domain} {
		got, err := m.Get(context.Background(), ref)
		if err != nil {
			t.Fatalf("Get(%q): %v", ref, err)
		}
		if got.ID != b.ID {
			t.Errorf("Get(%q) = %s, want %s (not %s)", ref, got.ID, b.ID, a.ID)
		}
	}
}

func TestGetOfAnUnknownIDIsErrNoInstance(t *testing.T) {
	m, _ := newManager(t)
	launch(t, m, Options{Image: testImage(t)})
	_, err := m.Get(context.Background(), "i-ffffffffffff")
	if !errors.Is(err, ErrNoInstance) {
		t.Fatalf("Get of an unknown id: %v, want ErrNoInstance", err)
	}
	if !strings.Contains(err.Error(), "i-ffffffffffff") {
		t.Errorf("error %q does not name the id", err)
	}
}

func TestConcurrentLaunchesGetTheirOwnInstances(t *testing.T) {
	// The fleet controller launches replicas in parallel on one Manager.
	m, f := newManager(t)
	img := testImage(t)
	const n = 4
	errs := make(chan error, n)
	insts := make(chan *Instance, n)
	for range n {
		go func() {
			inst, err := m.Launch(context.Background(), Options{Image: img})
			errs <- err
			insts <- inst
		}()
	}
	ids := map[string]bool{}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
		if inst := <-insts; inst != nil {
			ids[inst.ID] = true
		}
	}
	if len(ids) != n {
		t.Errorf("%d distinct instances from %d launches", len(ids), n)
	}
	all, err := m.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n || len(f.Names()) != n {
		t.Errorf("listed %d, domains %v, want %d of each", len(all), f.Names(), n)
	}
}

func TestLaunchLeavesNothingBehindWhenAStepFails(t *testing.T) {
	for _, step := range []string{"Define", "Start", "SetMemoryHardLimit", "ForwardPort", "Resume"} {
		t.Run(step, func(t *testing.T) {
			m, f := newManager(t)
			injected := errors.New("injected " + step + " failure")
			f.FailOn(step, injected)
			inst, err := m.Launch(context.Background(), Options{Image: testImage(t)})
			if !errors.Is(err, injected) {
				t.Errorf("Launch error %v, want the %s failure", err, step)
			}
			if inst != nil {
				t.Errorf("Launch returned an instance %+v with its error", inst)
			}
			assertNothingLeft(t, m, f)
		})
	}
}

func TestLaunchStopsTheDomainBeforeUndefiningItWhenResumeFails(t *testing.T) {
	// Undefining a running domain only makes it transient: it would run on.
	m, f := newManager(t)
	f.FailOn("Resume", errors.New("injected"))
	if _, err := m.Launch(context.Background(), Options{Image: testImage(t)}); err == nil {
		t.Fatal("Launch succeeded")
	}
	var order []string
	for _, c := range f.Calls() {
		if c.Method == "Destroy" || c.Method == "Undefine" {
			order = append(order, c.Method)
		}
	}
	if !slices.Equal(order, []string{"Destroy", "Undefine"}) {
		t.Errorf("cleanup %v, want Destroy then Undefine", order)
	}
}

func TestLaunchLeavesNothingBehindWhenTheOverlayCannotBeMade(t *testing.T) {
	m, f := newManager(t)
	img := testImage(t)
	img.Disk = filepath.Join(t.TempDir(), "missing.qcow2")
	_, err := m.Launch(context.Background(), Options{Image: img})
	if err == nil || !strings.Contains(err.Error(), "overlay") {
		t.Fatalf("Launch error %v, want one about the overlay", err)
	}
	if slices.ContainsFunc(f.Calls(), func(c hypervisortest.Call) bool { return c.Method == "Define" }) {
		t.Error("a domain was defined without an overlay")
	}
	assertNothingLeft(t, m, f)
}

func TestLaunchSaysToPickAnotherPortWhenQEMUCannotBindTheChosenOne(t *testing.T) {
	// The port was free when checked and taken before QEMU bound it.
	m, f := newManager(t)
	port := freeTestPort(t)
	cause := errors.New("Could not set up host forwarding rule")
	f.FailOn("ForwardPort", cause)
	_, err := m.Launch(context.Background(), Options{Image: testImage(t), HostPort: port})
	if err == nil || !strings.Contains(err.Error(), "--host-port") || !strings.Contains(err.Error(), strconv.Itoa(port)) {
		t.Errorf("Launch error %v, want one naming port %d and --host-port", err, port)
	}
	// The port may have failed for another reason: keep QEMU's words.
	if !errors.Is(err, cause) {
		t.Errorf("Launch error %v dropped the cause %q", err, cause)
	}
	assertNothingLeft(t, m, f)
}

func TestLaunchRejectsBadOptionsWithAHintAndDefinesNothing(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port

	noPort := func(img *image.Manifest) { img.Port = 0 }
	for _, tc := range []struct {
		name  string
		opts  Options
		image func(*image.Manifest)
		hint  string // part of the message that says how to fix it
	}{
		{name: "memory below the minimum", opts: Options{MemoryBytes: 32 << 20}, hint: "--memory 32MiB is below the 96MiB the guest kernel needs to boot; give 96MiB to 1TiB"},
		{name: "negative memory", opts: Options{MemoryBytes: -1}, hint: "give 96MiB to 1TiB"},
		{name: "memory above the maximum", opts: Options{MemoryBytes: 2 << 40}, hint: "--memory 2TiB is more than 1TiB; give 96MiB to 1TiB"},
		{name: "negative cpu", opts: Options{CPU: -1}, hint: "--cpu -1 must be more than zero; give cores from 0.01 to 64"},
		{name: "too little cpu", opts: Options{CPU: 0.001}, hint: "give cores from 0.01 to 64"},
		{name: "NaN cpu", opts: Options{CPU: math.NaN()}, hint: "give cores from 0.01 to 64"},
		{name: "infinite cpu", opts: Options{CPU: math.Inf(1)}, hint: "give cores from 0.01 to 64"},
		{name: "too much cpu", opts: Options{CPU: 65}, hint: "--cpu 65 is more than 64 cores; give cores from 0.01 to 64"},
		{name: "env without =", opts: Options{Env: []string{"DEBUG"}}, hint: "write it as KEY=VALUE"},
		{name: "env with a bad key", opts: Options{Env: []string{"OK=1", "1X=2"}}, hint: `KEY "1X" is not a valid environment variable name`},
		{name: "host port above 65535", opts: Options{HostPort: 65536}, hint: "use a port from 1 to 65535, or 0 for a free one"},
		{name: "negative host port", opts: Options{HostPort: -80}, hint: "use a port from 1 to 65535, or 0 for a free one"},
		{name: "host port already listened on", opts: Options{HostPort: busyPort}, hint: "pick another with --host-port"},
		{name: "host port for an image without a port", opts: Options{HostPort: 8080}, image: noPort, hint: "bake it with --port"},
		{name: "image name too long for a service", image: func(img *image.Manifest) { img.Name = strings.Repeat("a", 41) },
			hint: "(the image's; give another with --service) is longer than 40 characters"},
		{name: "bad service name", opts: Options{Service: "Web_1"}, hint: `service name "Web_1" can't be part of a domain name; use lower-case letters`},
		{name: "memory too small for the image's initramfs", opts: Options{MemoryBytes: 128 << 20}, image: initramfsOf(t, 30_500_000),
			hint: "--memory 128MiB is below the 144MiB this image's 30.5 MB initramfs needs to boot; give it 144MiB or more, or bake it again with vmfleet-init beside vmfleet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, f := newManager(t)
			img := testImage(t)
			if tc.image != nil {
				tc.image(img)
			}
			tc.opts.Image = img
			inst, err := m.Launch(context.Background(), tc.opts)
			if err == nil {
				t.Fatalf("Launch accepted %+v: %+v", tc.opts, inst)
			}
			if !strings.Contains(err.Error(), tc.hint) {
				t.Errorf("error %q does not say %q", err, tc.hint)
			}
			if slices.ContainsFunc(f.Calls(), func(c hypervisortest.Call) bool { return c.Method == "Define" }) {
				t.Error("a domain was defined for bad options")
			}
			assertNothingLeft(t, m, f)
		})
	}
}

func TestLaunchWithARelativeDirGivesLibvirtAbsolutePaths(t *testing.T) {
	// libvirtd does not run in our working directory.
	img := testImage(t)
	t.Chdir(t.TempDir())
	f := &hypervisortest.Fake{}
	m := &Manager{HV: f, Dir: "instances"}
	inst := launch(t, m, Options{Image: img})
	s := defineSpec(t, f, inst.Domain)
	for what, p := range map[string]string{"disk": s.Disk, "console": s.ConsoleLog, "fw_cfg": s.FwCfg[guestconfig.FwCfgName], "dir": inst.Dir} {
		if !filepath.IsAbs(p) {
			t.Errorf("%s path %q is relative", what, p)
		}
	}
	// Terminate must still recognise the directory as its own.
	if err := m.Terminate(context.Background(), inst, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(inst.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("instance dir %s still there after Terminate (%v)", inst.Dir, err)
	}
}

func TestTerminateWithGraceShutsTheGuestDownThenRemovesEverything(t *testing.T) {
	m, f := newManager(t)
	inst := launch(t, m, Options{Image: testImage(t)})
	if err := m.Terminate(context.Background(), inst, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	calls := f.Methods(inst.Domain)
	if got, want := calls[len(calls)-3:], []string{"Shutdown", "Destroy", "Undefine"}; !slices.Equal(got, want) {
		t.Errorf("terminate calls %v, want %v", got, want)
	}
	assertNothingLeft(t, m, f)
}

func TestTerminateWithGraceDestroysAGuestThatIgnoresShutdown(t *testing.T) {
	m, f := newManager(t)
	inst := launch(t, m, Options{Image: testImage(t)})
	f.IgnoreShutdown = true
	if err := m.Terminate(context.Background(), inst, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	calls := f.Methods(inst.Domain)
	if !slices.Contains(calls, "Shutdown") {
		t.Errorf("calls %v: the guest was not asked to shut down", calls)
	}
	assertNothingLeft(t, m, f)
}

func TestTerminateWithoutGraceGoesStraightToDestroy(t *testing.T) {
	m, f := newManager(t)
	inst := launch(t, m, Options{Image: testImage(t)})
	if err := m.Terminate(context.Background(), inst, 0); err != nil {
		t.Fatal(err)
	}
	calls := f.Methods(inst.Domain)
	if got, want := calls[len(calls)-2:], []string{"Destroy", "Undefine"}; !slices.Equal(got, want) || slices.Contains(calls, "Shutdown") {
		t.Errorf("terminate calls %v, want Destroy, Undefine and no Shutdown", calls)
	}
	assertNothingLeft(t, m, f)
}

func TestTerminateDoesNotShutDownAGuestThatIsNotRunning(t *testing.T) {
	// A paused guest cannot react to the power button; waiting is useless.
	m, f := newManager(t)
	inst := launch(t, m, Options{Image: testImage(t)})
	f.SetState(inst.Domain, hypervisor.Paused)
	inst.State = hypervisor.Paused
	if err := m.Terminate(context.Background(), inst, time.Hour); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(f.Methods(inst.Domain), "Shutdown") {
		t.Error("Shutdown called on a paused guest")
	}
	assertNothingLeft(t, m, f)
}

func TestTerminateKeepsADirectoryOutsideItsOwn(t *testing.T) {
	// Metadata could point anywhere; only directories under Manager.Dir
	// are vmfleet's to delete.
	m, f := newManager(t)
	inst := launch(t, m, Options{Image: testImage(t)})
	elsewhere := t.TempDir()
	keep := filepath.Join(elsewhere, "keep")
	if err := os.WriteFile(keep, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	inst.Dir = elsewhere
	if err := m.Terminate(context.Background(), inst, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("Terminate removed a directory outside %s: %v", m.Dir, err)
	}
	if _, ok := f.Domain(inst.Domain); ok {
		t.Error("domain still defined")
	}
}

func TestTerminateKeepsTheDomainDefinedWhenDestroyFails(t *testing.T) {
	// Undefining a domain that still runs would leave it running unlisted.
	m, f := newManager(t)
	inst := launch(t, m, Options{Image: testImage(t)})
	f.FailOn("Destroy", errors.New("injected"))
	if err := m.Terminate(context.Background(), inst, 0); err == nil {
		t.Fatal("Terminate succeeded although Destroy failed")
	}
	if slices.Contains(f.Methods(inst.Domain), "Undefine") {
		t.Error("Undefine called after Destroy failed")
	}
	if _, err := m.Get(context.Background(), inst.ID); err != nil {
		t.Errorf("instance no longer listed, so it cannot be terminated again: %v", err)
	}
}

func freeTestPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startedFwCfg is the guest config QEMU read as the domain started.
func startedFwCfg(t *testing.T, f *hypervisortest.Fake, domain string) []byte {
	t.Helper()
	d, ok := f.Domain(domain)
	if !ok || d.FwCfg[guestconfig.FwCfgName] == nil {
		t.Fatalf("domain %s started without a guest config", domain)
	}
	return d.FwCfg[guestconfig.FwCfgName]
}
