package instance

import (
	"context"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/guestconfig"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

// groups is a stand-in for the host's group database.
func groups(known map[string]int) func(string) (*user.Group, error) {
	return func(name string) (*user.Group, error) {
		if gid, ok := known[name]; ok {
			return &user.Group{Name: name, Gid: strconv.Itoa(gid)}, nil
		}
		return nil, user.UnknownGroupError(name)
	}
}

// otherGroup is a group the test may give a file to that is not its own
// primary one, so a chown to it shows.
func otherGroup(t *testing.T) int {
	t.Helper()
	if os.Geteuid() == 0 {
		return 4242
	}
	own, _ := os.Getgroups()
	for _, g := range own {
		if g != os.Getgid() {
			return g
		}
	}
	t.Skip("not root and in no supplementary group: no other group to give a file to")
	return 0
}

func modeAndGroup(t *testing.T, p string) (os.FileMode, int) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm(), int(fi.Sys().(*syscall.Stat_t).Gid)
}

func TestAFileForQEMUGoesToTheGroupOfLibvirtsQEMUUserAndNoOneElse(t *testing.T) {
	gid := otherGroup(t)
	for _, tc := range []struct {
		host map[string]int
		why  string
	}{
		{map[string]int{"libvirt-qemu": gid, "kvm": gid + 1}, "Debian: libvirt-qemu before kvm"},
		{map[string]int{"kvm": gid, "qemu": gid + 1}, "Ubuntu: kvm"},
		{map[string]int{"qemu": gid}, "Fedora: qemu"},
	} {
		p := filepath.Join(t.TempDir(), "guest-config.json")
		if err := writeForQEMU(p, []byte("{}"), groups(tc.host)); err != nil {
			t.Fatalf("%s: %v", tc.why, err)
		}
		if mode, g := modeAndGroup(t, p); mode != 0o640 || g != gid {
			t.Errorf("%s: mode %o group %d, want 0640 and group %d", tc.why, mode, g, gid)
		}
	}
}

func TestAFileForQEMUIsTheOwnersAloneWhereThereIsNoQEMUGroup(t *testing.T) {
	// QEMU then runs as root, or as us under qemu:///session.
	p := filepath.Join(t.TempDir(), "guest-config.json")
	if err := writeForQEMU(p, []byte("{}"), groups(nil)); err != nil {
		t.Fatal(err)
	}
	if mode, g := modeAndGroup(t, p); mode != 0o600 || g != os.Getgid() {
		t.Errorf("mode %o group %d, want 0600 and our group %d", mode, g, os.Getgid())
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "{}" {
		t.Errorf("content %q, %v", b, err)
	}
}

func TestAFileForQEMUThatCannotBeWrittenSaysWhere(t *testing.T) {
	p := filepath.Join(t.TempDir(), "gone", "guest-config.json")
	if err := writeForQEMU(p, []byte("{}"), groups(nil)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("writing into a missing directory: %v, want not exist", err)
	}
}

// The guest config holds the service's environment, secrets included.
func TestLaunchRemovesTheGuestConfigOnceQEMUHasReadIt(t *testing.T) {
	m, f := newManager(t)
	inst := launch(t, m, Options{Image: testImage(t), Env: []string{"DB_PASSWORD=hunter2"}})
	p := defineSpec(t, f, inst.Domain).FwCfg[guestconfig.FwCfgName]
	if p == "" {
		t.Fatal("no guest config handed to QEMU")
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the guest config is still on disk after the domain started: %v", err)
	}
}

func TestDefineWritesTheGuestConfigForQEMUAndNotForEveryone(t *testing.T) {
	m, f := newManager(t)
	inst, err := m.Define(context.Background(), Options{Image: testImage(t), Env: []string{"DB_PASSWORD=hunter2"}})
	if err != nil {
		t.Fatal(err)
	}
	p := defineSpec(t, f, inst.Domain).FwCfg[guestconfig.FwCfgName]
	if p == "" {
		t.Fatalf("no guest config handed to QEMU: %+v", defineSpec(t, f, inst.Domain).FwCfg)
	}
	mode, g := modeAndGroup(t, p)
	if mode&0o007 != 0 {
		t.Errorf("guest config mode %o: others can read the service's secrets", mode)
	}
	want := os.FileMode(0o600)
	if gid, ok := hypervisor.QEMUGroup(user.LookupGroup); ok {
		want = 0o640
		if g != gid {
			t.Errorf("guest config group %d, want QEMU's %d", g, gid)
		}
	}
	if mode != want {
		t.Errorf("guest config mode %o, want %o on this host", mode, want)
	}
}
