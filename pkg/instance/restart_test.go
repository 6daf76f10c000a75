package instance

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

// A domain whose QEMU exited on a failed load is started again as a
// boot; a start that fails (libvirt still cleaning up after the dead
// QEMU) gets one more try, and a second failure is the launch's error.
func TestAStartAfterAFailedRestoreIsTriedTwice(t *testing.T) {
	ctx := context.Background()
	m, f := newManager(t)
	f.Add("d", hypervisor.Shutoff, "")
	start := func() error { return f.Start(ctx, "d", true) }

	f.FailOnce("Start", errors.New("process exited while connecting to monitor"))
	if err := m.restartAfterCrash(ctx, "d", start); err != nil {
		t.Fatalf("a start that failed once: %v", err)
	}
	if got := f.Methods("d"); !slices.Equal(got, []string{"Destroy", "Start", "Destroy", "Start"}) {
		t.Errorf("calls %q, want each start after a destroy", got)
	}

	m, f = newManager(t)
	f.Add("d", hypervisor.Shutoff, "")
	start = func() error { return f.Start(ctx, "d", true) }
	f.FailOn("Start", errors.New("no such binary"))
	if err := m.restartAfterCrash(ctx, "d", start); err == nil {
		t.Error("a start that always fails: no error")
	}
	if n := countOf(f.Methods("d"), "Start"); n != 2 {
		t.Errorf("%d starts, want 2", n)
	}
}

func countOf(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}
