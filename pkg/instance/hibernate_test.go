package instance

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

func TestHibernateKeepsTheMemoryForStartAndNothingElse(t *testing.T) {
	m, f := newManager(t)
	o := Options{Image: testImage(t)}
	inst := launch(t, m, o)
	before, err := os.ReadDir(inst.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Hibernate(context.Background(), inst); err != nil {
		t.Fatalf("Hibernate: %v", err)
	}
	if !inst.Hibernated() || inst.State != hypervisor.Shutoff {
		t.Fatalf("after Hibernate: hibernated %v, state %s", inst.Hibernated(), inst.State)
	}
	fi, err := os.Stat(hibernationOf(inst))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("the hibernation file has mode %o, want 0600: it holds the guest's memory", fi.Mode().Perm())
	}
	after, err := os.ReadDir(inst.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before)+1 {
		t.Errorf("the instance dir held %v, now %v: want just the hibernation file more", before, after)
	}

	if err := m.Start(context.Background(), inst, o); err != nil {
		t.Fatalf("Start: %v", err)
	}
	d, _ := f.Domain(inst.Domain)
	if want := "state of " + inst.Domain; string(d.Loaded) != want {
		t.Errorf("Start loaded %q, want %q", d.Loaded, want)
	}
	if inst.Hibernated() {
		t.Error("the hibernation file outlived the Start that used it")
	}
}

func TestAFailedHibernateLeavesTheGuestRunningAndNoFile(t *testing.T) {
	m, f := newManager(t)
	inst := launch(t, m, Options{Image: testImage(t)})
	before, err := os.ReadDir(inst.Dir)
	if err != nil {
		t.Fatal(err)
	}
	f.FailOnce("SaveState", errors.New("no space left on device"))
	if err := m.Hibernate(context.Background(), inst); err == nil {
		t.Fatal("Hibernate succeeded although the save failed")
	}
	if d, _ := f.Domain(inst.Domain); d.State != hypervisor.Running {
		t.Errorf("after a failed Hibernate the domain is %s, want running", d.State)
	}
	after, err := os.ReadDir(inst.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("the instance dir held %v, now %v", before, after)
	}
}
