package snapshot

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/agent"
	"github.com/vmfleet/vmfleet/pkg/guestconfig"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/hypervisor/hypervisortest"
)

// rig is a store over the fake hypervisor, with a guest that waits for
// its wake in every template the store boots.
type rig struct {
	t     *testing.T
	fake  *hypervisortest.Fake
	store *Store
	shape Shape
	// panics: every guest dies as it boots.
	panics atomic.Bool
}

func newRig(t *testing.T) *rig {
	t.Helper()
	dir := t.TempDir()
	// Short: a unix socket's path has room for 107 bytes.
	agents, err := os.MkdirTemp("", "ag")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(agents) })
	fake := &hypervisortest.Fake{AgentDir: agents}
	spec := func(s Shape, name, disk, console string) *hypervisor.DomainSpec {
		return &hypervisor.DomainSpec{Name: name, Accel: s.Accel, VCPUs: s.VCPUs, MemoryMiB: s.MemoryMiB,
			Kernel: s.Kernel, Initrd: s.Initrd, Cmdline: s.Cmdline, Disk: disk, ConsoleLog: console,
			CPUQuota: 50000, CPUPeriod: 100000, Agent: agent.PortName}
	}
	st, err := Open(filepath.Join(dir, "snapshots"), fake, spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, fake: fake, store: st, shape: Shape{
		Kernel: write(t, dir, "vmlinuz", "kernel"), Initrd: write(t, dir, "initrd.img", "init one"), Cmdline: "console=ttyS0",
		VCPUs: 1, MemoryMiB: 128, Accel: hypervisor.TCG, QEMU: hypervisortest.FakeVersion,
	}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go r.guests(ctx)
	return r
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// guests plays the guest of every domain the fake starts: it serves the
// agent socket and waits for a wake, as a template's init does.
func (r *rig) guests(ctx context.Context) {
	served := map[string]bool{}
	for ctx.Err() == nil {
		names := r.fake.Names()
		for p := range served {
			// A domain that went away may come back under its name.
			if !slices.ContainsFunc(names, func(n string) bool { return strings.HasSuffix(p, "/"+n+".sock") }) {
				delete(served, p)
			}
		}
		for _, name := range names {
			d, ok := r.fake.Domain(name)
			if !ok || d.AgentSocket == "" || served[d.AgentSocket] {
				continue
			}
			served[d.AgentSocket] = true
			if r.panics.Load() {
				// Its kernel panicked: the domain destroys itself.
				r.fake.Destroy(ctx, name)
				continue
			}
			ln, err := net.Listen("unix", d.AgentSocket)
			if err != nil {
				continue
			}
			go func() {
				conn, err := ln.Accept()
				ln.Close() // frees the path for a later domain of that name
				if err != nil {
					return
				}
				agent.AwaitWake(ctx, func() (io.ReadWriteCloser, error) { return conn, nil })
			}()
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *rig) creates() int {
	n := 0
	for _, c := range r.fake.Calls() {
		if c.Method == "Define" && strings.HasPrefix(c.Domain, "vmfleet-snapshot-") {
			n++
		}
	}
	return n
}

func TestTheFirstLaunchOfAShapeCapturesItsSnapshotOnce(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	got := make([]*Template, 3)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if got[i], err = r.store.Get(ctx, r.shape); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if n := r.creates(); n != 1 {
		t.Fatalf("three launches at once booted %d templates, want 1", n)
	}
	for _, g := range got[1:] {
		if g.Key != got[0].Key {
			t.Errorf("keys differ: %s vs %s", g.Key, got[0].Key)
		}
	}
	tmpl := got[0]
	b, err := os.ReadFile(tmpl.State)
	if err != nil || !strings.HasPrefix(string(b), "state of vmfleet-snapshot-"+tmpl.Key) {
		t.Errorf("state file holds %q (%v)", b, err)
	}
	// The template booted as one (waiting to be saved), uncapped, with
	// the config entry clones have but no config in it; it is gone.
	for _, c := range r.fake.Calls() {
		if c.Method != "Define" {
			continue
		}
		spec := c.Args[0].(hypervisor.DomainSpec)
		if !strings.Contains(spec.Cmdline, guestconfig.TemplateArg) || spec.CPUQuota != 0 || spec.MetadataXML != "" {
			t.Errorf("template spec: cmdline %q, quota %d, metadata %q", spec.Cmdline, spec.CPUQuota, spec.MetadataXML)
		}
		if _, ok := spec.FwCfg[guestconfig.FwCfgName]; !ok {
			t.Errorf("template has no %s entry: %v", guestconfig.FwCfgName, spec.FwCfg)
		}
	}
	if names := r.fake.Names(); len(names) != 0 {
		t.Errorf("template domains left: %v", names)
	}
	// Later launches find it without booting.
	if _, err := r.store.Get(ctx, r.shape); err != nil || r.creates() != 1 {
		t.Errorf("a later launch booted a template again (%d boots, %v)", r.creates(), err)
	}
	if list, _ := r.store.List(); len(list) != 1 || list[0].StateBytes != int64(len(b)) {
		t.Errorf("list = %+v", list)
	}
}

func TestAnotherInitMachineOrKernelCommandLineGetsAnotherSnapshot(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	first, err := r.store.Get(ctx, r.shape)
	if err != nil {
		t.Fatal(err)
	}
	bigger := r.shape
	bigger.MemoryMiB = 256
	other := r.shape
	other.Initrd = write(t, t.TempDir(), "initrd.img", "init two")
	newer := r.shape
	newer.QEMU = "8.0.0"
	booted := r.shape
	booted.Cmdline = "console=ttyS0 tsc=reliable"
	keys := map[string]bool{first.Key: true}
	for _, s := range []Shape{bigger, other, newer, booted} {
		tmpl, err := r.store.Get(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		keys[tmpl.Key] = true
	}
	if len(keys) != 5 || r.creates() != 5 {
		t.Errorf("5 shapes gave %d keys and %d captures", len(keys), r.creates())
	}
	// The same initrd content at another path is the same machine.
	moved := r.shape
	moved.Initrd = write(t, t.TempDir(), "initrd.img", "init one")
	if tmpl, _ := r.store.Get(ctx, moved); tmpl == nil || tmpl.Key != first.Key {
		t.Errorf("an identical initrd elsewhere got another snapshot")
	}
}

func TestAnInvalidatedSnapshotIsCapturedAgainAndPruneDropsOrphans(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	first, err := r.store.Get(ctx, r.shape)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.store.Invalidate(first.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := r.store.Get(ctx, r.shape); err != nil || r.creates() != 2 {
		t.Fatalf("after invalidation: %d captures, %v", r.creates(), err)
	}
	if err := r.store.Invalidate("../escape"); err == nil {
		t.Error("Invalidate accepted a path for a key")
	}
	// A capture cut short, and a snapshot whose initrd is gone.
	os.MkdirAll(filepath.Join(r.store.Dir(), capturePrefix+"deadbeef"), 0o700)
	os.Remove(r.shape.Initrd)
	if err := r.store.Prune(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(r.store.Dir()); len(entries) != 0 {
		t.Errorf("prune left %v", entries)
	}
}

// A template whose guest dies as it boots (a kernel panic, an init that
// cannot run) fails its capture at once, saying so, rather than after
// the two minutes a slow boot is allowed; nothing of it is left.
func TestATemplateWhoseGuestDiesFailsItsCaptureAtOnce(t *testing.T) {
	r := newRig(t)
	r.panics.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := r.store.Get(ctx, r.shape)
	if err == nil || !errors.Is(err, errTemplateStopped) || ctx.Err() != nil {
		t.Fatalf("Get = %v (deadline: %v), want it to fail at once with %q", err, ctx.Err(), errTemplateStopped)
	}
	// Its console is kept beside the templates, where the error points.
	if !regexp.MustCompile(`\(console: ` + regexp.QuoteMeta(r.store.Dir()) + `/[0-9a-f]+\.failed-console\.log\)`).MatchString(err.Error()) {
		t.Errorf("error %q does not point at the console kept in %s", err, r.store.Dir())
	}
	if names := r.fake.Names(); len(names) != 0 {
		t.Errorf("domains left: %v", names)
	}
	if left, _ := filepath.Glob(filepath.Join(r.store.Dir(), capturePrefix+"*")); len(left) != 0 {
		t.Errorf("capture directories left: %v", left)
	}
}
