package hypervisortest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

func define(t *testing.T, f *Fake, name string) {
	t.Helper()
	if err := f.Define(context.Background(), &hypervisor.DomainSpec{Name: name, Accel: hypervisor.TCG, VCPUs: 1, MemoryMiB: 64, MetadataXML: "<x/>"}); err != nil {
		t.Fatal(err)
	}
}

func TestFakeKeepsAnUndefinedRunningDomainUntilItIsDestroyed(t *testing.T) {
	// As libvirt does: this is what makes a wrong cleanup order visible.
	ctx := context.Background()
	f := &Fake{}
	define(t, f, "d")
	if err := f.Start(ctx, "d", false); err != nil {
		t.Fatal(err)
	}
	if err := f.Undefine(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	if d, ok := f.Domain("d"); !ok || !d.Transient || d.State != hypervisor.Running {
		t.Fatalf("after Undefine of a running domain: %+v, %v; want it running and transient", d, ok)
	}
	if err := f.Destroy(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	if names := f.Names(); len(names) != 0 {
		t.Errorf("domains %v after Destroy of a transient domain", names)
	}
}

func TestFakeFailOnFailsOnlyThatMethodAndChangesNothing(t *testing.T) {
	ctx := context.Background()
	f := &Fake{}
	define(t, f, "d")
	injected := errors.New("injected")
	f.FailOn("Start", injected)
	if err := f.Start(ctx, "d", true); !errors.Is(err, injected) {
		t.Fatalf("Start: %v, want the injected error", err)
	}
	if d, _ := f.Domain("d"); d.State != hypervisor.Shutoff {
		t.Errorf("a failed Start changed the state to %s", d.State)
	}
	if got := f.Methods("d"); !slices.Equal(got, []string{"Define", "Start"}) {
		t.Errorf("recorded %v, want the failed call recorded too", got)
	}
	f.FailOn("Start", nil)
	if err := f.Start(ctx, "d", true); err != nil {
		t.Errorf("Start after FailOn(nil): %v", err)
	}
}

func TestFakeListsOnlyDomainsWithMetadata(t *testing.T) {
	f := &Fake{}
	f.Add("ours", hypervisor.Running, "<x/>")
	f.Add("someone-elses", hypervisor.Running, "")
	doms, err := f.Domains(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(doms) != 1 || doms[0].Name != "ours" || doms[0].State != hypervisor.Running {
		t.Errorf("Domains = %+v, want only ours", doms)
	}
}

func TestFakeRefusesLiveSettingsOnAStoppedDomain(t *testing.T) {
	// A caller that forwards or caps before Start would fail on libvirt.
	ctx := context.Background()
	f := &Fake{}
	define(t, f, "d")
	if err := f.SetMemoryHardLimit(ctx, "d", 1<<30); err == nil {
		t.Error("SetMemoryHardLimit on a stopped domain succeeded")
	}
	if err := f.ForwardPort(ctx, "d", 1, 2); err == nil {
		t.Error("ForwardPort on a stopped domain succeeded")
	}
	if err := f.Resume(ctx, "d"); err == nil {
		t.Error("Resume of a stopped domain succeeded")
	}
}

func TestFakeEventsDeliversEmittedEventsAndClosesWithItsContext(t *testing.T) {
	f := &Fake{}
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := f.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go f.Emit(hypervisor.Event{Domain: "d", Kind: hypervisor.EventStopped})
	ev := <-ch
	if ev.Domain != "d" || ev.Kind != hypervisor.EventStopped || ev.Time.IsZero() {
		t.Errorf("event %+v", ev)
	}
	cancel()
	for range ch {
		// Drain until closed; a channel never closed hangs the test.
	}
	// Emit with no listener left must not block.
	f.Emit(hypervisor.Event{Domain: "d"})
}
