package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// A change waiting for the fleet (a policy's scale behind an apply) gives
// up when a down begins: the down's controller waits for that scale to
// end, so waiting on would hold the down forever.
func TestAWaitingChangeGivesUpWhenADownBegins(t *testing.T) {
	d := &Daemon{fleets: map[string]*fleetRun{}}
	run := d.fleet("shop", true)
	_, endApply, err := run.beginOp(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan error, 1)
	go func() {
		_, end, err := run.beginOp(context.Background(), false)
		if err == nil {
			end()
		}
		waiting <- err
	}()
	time.Sleep(50 * time.Millisecond) // the scale waits behind the apply
	downing := make(chan error, 1)
	go func() {
		_, end, err := run.beginOp(context.Background(), true)
		if err == nil {
			defer end()
		}
		downing <- err
	}()
	select {
	case err := <-waiting:
		if err == nil || api.Classify(err).Kind != api.KindConflict {
			t.Errorf("the waiting change: %v, want a conflict", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting change still waits after the down began")
	}
	endApply()
	if err := <-downing; err != nil {
		t.Errorf("the down: %v", err)
	}
}
