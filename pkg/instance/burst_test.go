package instance

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/limits"
)

func TestACappedInstanceBootsAtAllItsVCPUsUntilItsBurstEnds(t *testing.T) {
	m, f := newManager(t)
	inst := launch(t, m, Options{Image: testImage(t), CPU: 0.5})

	// Defined at its cap, lifted before the guest runs an instruction.
	if q := defineSpec(t, f, inst.Domain).CPUQuota; q != 50000 {
		t.Errorf("defined with quota %d, want the cap 50000", q)
	}
	want := []string{"Define", "Start", "SetMemoryHardLimit", "SetCPUQuota", "ForwardPort", "Resume"}
	if got := f.Methods(inst.Domain); !slices.Equal(got, want) {
		t.Fatalf("calls %v, want %v", got, want)
	}
	lim, _ := f.Limits(context.Background(), inst.Domain)
	until, bursting := m.Bursting(inst.Domain)
	if lim.CPUQuota != 100000 || !bursting {
		t.Fatalf("after launch: quota %d, bursting %v; want a whole vCPU", lim.CPUQuota, bursting)
	}
	if d := time.Until(until); d <= 0 || d > limits.BootBurst {
		t.Errorf("burst ends in %s, want within %s", d, limits.BootBurst)
	}

	// Not yet due: nothing changes; due: the cap is back.
	m.EndDueBursts(context.Background(), time.Now())
	if lim, _ := f.Limits(context.Background(), inst.Domain); lim.CPUQuota != 100000 {
		t.Errorf("a burst ended before its time")
	}
	m.EndDueBursts(context.Background(), until)
	lim, _ = f.Limits(context.Background(), inst.Domain)
	if _, still := m.Bursting(inst.Domain); lim.CPUQuota != 50000 || still {
		t.Errorf("after the burst: quota %d, bursting %v; want the cap", lim.CPUQuota, still)
	}
}

func TestTheControllerEndsABurstOnceTheInstanceIsInService(t *testing.T) {
	m, f := newManager(t)
	inst := launch(t, m, Options{Image: testImage(t), CPU: 1.5})
	if lim, _ := f.Limits(context.Background(), inst.Domain); lim.CPUQuota != 200000 {
		t.Fatalf("1.5 cores on 2 vCPUs bursts to %d, want 200000", lim.CPUQuota)
	}
	if err := m.EndBurst(context.Background(), inst.Domain); err != nil {
		t.Fatal(err)
	}
	if lim, _ := f.Limits(context.Background(), inst.Domain); lim.CPUQuota != 150000 {
		t.Errorf("after EndBurst: quota %d, want 150000", lim.CPUQuota)
	}
	// Ending it twice changes nothing.
	if err := m.EndBurst(context.Background(), inst.Domain); err != nil {
		t.Error(err)
	}
}

func TestAWholeCoreOrAnUncappedManagerDoesNotBurst(t *testing.T) {
	m, f := newManager(t)
	whole := launch(t, m, Options{Image: testImage(t), CPU: 1})
	m.NoBurst = true
	half := launch(t, m, Options{Image: testImage(t), CPU: 0.5})
	for _, inst := range []*Instance{whole, half} {
		if slices.Contains(f.Methods(inst.Domain), "SetCPUQuota") {
			t.Errorf("%s burst", inst.ID)
		}
	}
	if BootCPU(1) != 1 || BootCPU(0.5) != 1 || BootCPU(2.5) != 3 {
		t.Errorf("BootCPU: %g %g %g", BootCPU(1), BootCPU(0.5), BootCPU(2.5))
	}
}

func TestRecapCapsWhatAStoppedDaemonLeftBursting(t *testing.T) {
	m, f := newManager(t)
	inst := launch(t, m, Options{Image: testImage(t), CPU: 0.25})
	// A new daemon: its Manager knows of no burst.
	fresh := &Manager{HV: f, Dir: m.Dir}
	if err := fresh.Recap(context.Background()); err != nil {
		t.Fatal(err)
	}
	if lim, _ := f.Limits(context.Background(), inst.Domain); lim.CPUQuota != 25000 {
		t.Errorf("after Recap: quota %d, want the cap 25000", lim.CPUQuota)
	}
}
