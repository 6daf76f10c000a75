package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/image"
	"github.com/vmfleet/vmfleet/pkg/instance"
)

// bakeMarked bakes hello with /srv/marker holding marker, under name.
func (e *testEnv) bakeMarked(name, marker string, extra ...string) image.Manifest {
	e.t.Helper()
	dir := e.t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "marker"), []byte(marker), 0o644); err != nil {
		e.t.Fatal(err)
	}
	args := append([]string{"bake", "--json", "--name", name, "--binary", bin("hello"),
		"--copy", dir + ":/srv", "--port", "8080"}, extra...)
	var m image.Manifest
	jsonDecode(e.t, e.must(append(args, "--", "/app/hello", "-listen", ":8080")...), &m)
	return m
}

func (e *testEnv) info() api.Info {
	e.t.Helper()
	var in api.Info
	jsonDecode(e.t, e.must("info", "--json"), &in)
	return in
}

func console(t *testing.T, inst instance.Instance) string {
	t.Helper()
	b, _ := os.ReadFile(inst.Console)
	return string(b)
}

func TestInstancesAreRestoredFromASnapshotAndEachIsItsOwnMachine(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	e.bakeMarked("alpha", "from image alpha")
	e.bakeMarked("beta", "from image beta")

	// The first instance of a machine shape captures its snapshot; it is
	// restored from it like every later one.
	a := e.run("alpha", "--memory", "128MiB")
	if got := e.get("http://"+a.Address+"/file?path=/srv/marker", a); got != "from image alpha" {
		t.Fatalf("alpha reads %q", got)
	}
	in := e.info()
	if in.Launch.Mode != api.LaunchSnapshot || len(in.Launch.Snapshots) != 1 {
		t.Fatalf("info launch = %+v, want one snapshot", in.Launch)
	}
	snap := in.Launch.Snapshots[0]
	if a.Snapshot != snap.Key || snap.VCPUs != 1 || snap.MemoryMiB != 128 {
		t.Errorf("instance restored from %q, snapshot %+v", a.Snapshot, snap)
	}
	if !strings.Contains(console(t, a), "restored from a template") {
		t.Errorf("console of a restored instance does not say so:\n%s", console(t, a))
	}

	// Two clones of the snapshot, captured while alpha launched, running
	// another image: each reads beta's files, has its own id and
	// entropy, and the host's time.
	b1 := e.run("beta", "--memory", "128MiB")
	b2 := e.run("beta", "--memory", "128MiB")
	ids := map[string]bool{}
	uuids := map[string]bool{}
	for _, inst := range []instance.Instance{a, b1, b2} {
		if inst.Snapshot != snap.Key {
			t.Errorf("%s was restored from %q, want %q", inst.ID, inst.Snapshot, snap.Key)
		}
		uuid := strings.TrimSpace(e.get("http://"+inst.Address+"/file?path=/proc/sys/kernel/random/uuid", inst))
		uuids[uuid] = true
		ids[strings.TrimSpace(e.get("http://"+inst.Address+"/", inst))] = true
		before := time.Now()
		ns, err := strconv.ParseInt(strings.TrimSpace(e.get("http://"+inst.Address+"/time", inst)), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		// The snapshot was saved seconds ago: a clone that kept its
		// clock would lag by that much.
		if skew := time.Unix(0, ns).Sub(before); skew < -2*time.Second || skew > 2*time.Second {
			t.Errorf("%s's clock is %s off the host's", inst.ID, skew)
		}
	}
	if len(uuids) != 3 || len(ids) != 3 {
		t.Errorf("clones share random numbers or identities: uuids %v, answers %v", uuids, ids)
	}
	for _, inst := range []instance.Instance{b1, b2} {
		if got := e.get("http://"+inst.Address+"/file?path=/srv/marker", inst); got != "from image beta" {
			t.Errorf("%s (a clone of a snapshot taken while alpha launched) reads %q, want beta's file", inst.ID, got)
		}
	}
	// libvirt owns the clone as any domain: virsh sees it running.
	if st := strings.TrimSpace(tool(t, "virsh", "domstate", b1.Domain)); st != "running" {
		t.Errorf("virsh domstate %s = %q", b1.Domain, st)
	}

	// --cold-boot boots the kernel, as every launch did before snapshots.
	cold := e.run("beta", "--memory", "128MiB", "--cold-boot")
	if got := e.get("http://"+cold.Address+"/file?path=/srv/marker", cold); got != "from image beta" || cold.Snapshot != "" {
		t.Errorf("cold boot: snapshot %q, reads %q", cold.Snapshot, got)
	}
	if strings.Contains(console(t, cold), "restored from a template") {
		t.Errorf("a cold boot says it was restored")
	}
	// Restored or booted, init and the service it starts let their timers
	// fire up to 1 ms late, so an idle guest's wake-ups come together.
	for _, inst := range []instance.Instance{a, cold} {
		for _, p := range []string{"/proc/1/timerslack_ns", "/proc/self/timerslack_ns"} {
			if got := strings.TrimSpace(e.get("http://"+inst.Address+"/file?path="+p, inst)); got != "1000000" {
				t.Errorf("%s: %s = %q, want 1000000", inst.ID, p, got)
			}
		}
	}
	for _, inst := range []instance.Instance{a, b1, b2, cold} {
		e.must("rm", "-f", inst.ID)
	}
	e.assertNothingLeft()
}

func TestASnapshotIsCapturedAgainWhenInitChangesOrItFailsToRestore(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	e.bakeMarked("alpha", "alpha")
	first := e.run("alpha", "--memory", "128MiB")
	e.get("http://"+first.Address+"/", first)

	// Another init (the same program with a byte more) makes another
	// initrd, so another snapshot.
	init, err := os.ReadFile(bin("vmfleet-init"))
	if err != nil {
		t.Fatal(err)
	}
	changed := filepath.Join(t.TempDir(), "vmfleet-init")
	if err := os.WriteFile(changed, append(init, 0), 0o755); err != nil {
		t.Fatal(err)
	}
	e.bakeMarked("gamma", "gamma", "--init", changed)
	second := e.run("gamma", "--memory", "128MiB")
	e.get("http://"+second.Address+"/", second)
	in := e.info()
	if len(in.Launch.Snapshots) != 2 || second.Snapshot == "" || second.Snapshot == first.Snapshot {
		t.Fatalf("after an init change: instance snapshots %q and %q, info %+v", first.Snapshot, second.Snapshot, in.Launch.Snapshots)
	}

	// A snapshot that no longer loads (here: cut short) is dropped; the
	// launch boots instead, and the next one captures it again.
	state := filepath.Join(e.home, "snapshots", first.Snapshot, "state")
	if err := os.Truncate(state, 4096); err != nil {
		t.Fatal(err)
	}
	booted := e.run("alpha", "--memory", "128MiB")
	if got := e.get("http://"+booted.Address+"/file?path=/srv/marker", booted); got != "alpha" || booted.Snapshot != "" {
		t.Errorf("after a broken snapshot: restored from %q, reads %q; want a boot", booted.Snapshot, got)
	}
	again := e.run("alpha", "--memory", "128MiB")
	e.get("http://"+again.Address+"/", again)
	if again.Snapshot != first.Snapshot {
		t.Errorf("the broken snapshot was not captured again: %q, want %q", again.Snapshot, first.Snapshot)
	}
	if st, err := os.Stat(state); err != nil || st.Size() <= 4096 {
		t.Errorf("recaptured state: %v %v", st, err)
	}
}

func TestTheDaemonBootsEveryInstanceWithColdBoot(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	e.bakeMarked("alpha", "alpha")
	e.must("daemon", "stop")
	t.Setenv("VMFLEET_COLD_BOOT", "1")
	in := e.info()
	if in.Launch.Mode != api.LaunchColdBoot || !strings.Contains(in.Launch.Reason, "cold-boot") {
		t.Fatalf("info launch = %+v", in.Launch)
	}
	inst := e.run("alpha", "--memory", "128MiB")
	if got := e.get("http://"+inst.Address+"/file?path=/srv/marker", inst); got != "alpha" || inst.Snapshot != "" {
		t.Errorf("under --cold-boot: restored from %q, reads %q", inst.Snapshot, got)
	}
	if _, err := os.Stat(filepath.Join(e.home, "snapshots")); err == nil {
		if entries, _ := os.ReadDir(filepath.Join(e.home, "snapshots")); len(entries) > 0 {
			t.Errorf("--cold-boot captured snapshots: %v", entries)
		}
	}
	if out := e.must("info"); !strings.Contains(out, "cold boot") {
		t.Errorf("info does not say instances boot:\n%s", out)
	}
}
