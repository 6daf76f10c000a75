package hypervisor_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/hypervisor/hypervisortest"
)

func running(t *testing.T, n int) (*hypervisortest.Stalling, *hypervisor.Inventory) {
	t.Helper()
	hv := &hypervisortest.Stalling{Fake: &hypervisortest.Fake{}}
	for i := range n {
		hv.Add(fmt.Sprintf("vmfleet-%02d", i), hypervisor.Running, "<vmfleet/>")
	}
	inv := hypervisor.NewInventory(hv, nil)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go inv.Run(ctx)
	return hv, inv
}

func known(t *testing.T, inv *hypervisor.Inventory) ([]hypervisor.Domain, time.Duration) {
	t.Helper()
	start := time.Now()
	doms, err := inv.Known(context.Background())
	if err != nil {
		t.Fatalf("Known: %v", err)
	}
	return doms, time.Since(start)
}

// ps answers from the inventory, libvirtd stalled or not: a second is
// far past any answer from memory and far short of the stall (how fast
// it is, the benchmarks say).
func TestInventoryAnswersFromMemoryWhileLibvirtdStalls(t *testing.T) {
	hv, inv := running(t, 50)
	if doms, _ := known(t, inv); len(doms) != 50 {
		t.Fatalf("listed %d domains, want 50", len(doms))
	}
	hv.Stall(true)
	defer hv.Stall(false)
	for range 100 {
		doms, took := known(t, inv)
		if len(doms) != 50 || took > time.Second {
			t.Fatalf("with libvirtd stalled: %d domains in %s, want 50 from memory", len(doms), took)
		}
	}
}

// A change made through the inventory shows in the next answer, without
// waiting for the resync period; with libvirtd stalled the answer still
// comes, within knownWait, with the last listing.
func TestInventoryShowsAChangeAtOnceAndNeverWaitsLong(t *testing.T) {
	hv, inv := running(t, 3)
	known(t, inv)
	ctx := context.Background()
	if err := inv.Destroy(ctx, "vmfleet-01"); err != nil {
		t.Fatal(err)
	}
	if err := inv.Undefine(ctx, "vmfleet-01"); err != nil {
		t.Fatal(err)
	}
	doms, took := known(t, inv)
	if len(doms) != 2 || took > 200*time.Millisecond {
		t.Errorf("after undefining one of 3: %v in %s, want 2 at once", doms, took)
	}

	hv.Stall(true)
	defer hv.Stall(false)
	inv.Destroy(ctx, "vmfleet-02") // a change the stalled listing cannot show
	if doms, took := known(t, inv); len(doms) != 2 || took > time.Second {
		t.Errorf("with libvirtd stalled after a change: %d domains in %s, want the last listing within 1s", len(doms), took)
	}
}

// Before any listing succeeded there is nothing to answer with: the
// error says why (the session's names libvirtd and the fix).
func TestInventoryFailsOnlyWhenItNeverListed(t *testing.T) {
	hv := &hypervisortest.Stalling{Fake: &hypervisortest.Fake{}}
	down := errors.New("libvirtd is not reachable; reconnecting")
	hv.FailOn("Domains", down)
	inv := hypervisor.NewInventory(hv, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go inv.Run(ctx)
	start := time.Now()
	if _, err := inv.Known(ctx); !errors.Is(err, down) || time.Since(start) > time.Second {
		t.Errorf("never listed: %v after %s, want the listing's error within 1s", err, time.Since(start))
	}
}

func BenchmarkInventoryKnown50(b *testing.B) {
	hv := &hypervisortest.Stalling{Fake: &hypervisortest.Fake{}}
	for i := range 50 {
		hv.Add(fmt.Sprintf("vmfleet-%02d", i), hypervisor.Running, "<vmfleet/>")
	}
	inv := hypervisor.NewInventory(hv, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go inv.Run(ctx)
	inv.Known(ctx)
	hv.Stall(true)
	b.ResetTimer()
	for range b.N {
		inv.Known(ctx)
	}
}
