package spare

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/instance"
)

func TestASpareIdleTooLongIsRemoved(t *testing.T) {
	f := &maker{}
	p := New(f, Options{Max: 1, Idle: 40 * time.Millisecond})
	defer p.Close()
	twice(t, p, opts("web"))
	eventually(t, "a spare made", has(f, "prepare web"))
	eventually(t, "the idle spare removed", has(f, "terminate s-3"))
	if got := p.List(); len(got) != 0 {
		t.Errorf("spares left: %+v", got)
	}
}

func TestCloseRemovesEverySpareAndCleanThoseAnEarlierDaemonLeft(t *testing.T) {
	f := &maker{left: []*instance.Instance{{ID: "old-1"}}}
	p := pool(f, 2)
	if err := p.Clean(context.Background()); err != nil {
		t.Fatal(err)
	}
	twice(t, p, opts("web"))
	eventually(t, "a spare made", has(f, "prepare web"))
	p.Close()
	for _, want := range []string{"terminate old-1", "terminate s-3"} {
		if !has(f, want)() {
			t.Errorf("%s missing from %q", want, f.Calls())
		}
	}
	// Closed: launches go on, without spares.
	launch(t, p, opts("web"))
	time.Sleep(10 * time.Millisecond)
	if n := len(f.Prepared()); n != 1 {
		t.Errorf("%d spares made, one after Close", n)
	}
}

func TestAnImagesSparesGoBeforeTheImageDoes(t *testing.T) {
	f := &maker{}
	p := pool(f, 2)
	defer p.Close()
	twice(t, p, opts("web"))
	twice(t, p, opts("api"))
	eventually(t, "both spares made", made(p, 2))
	p.DropImage("digest-of-web")
	if got := p.List(); len(got) != 1 || got[0].Kind != instance.SpareKey(opts("api")) {
		t.Errorf("spares %+v, want api's alone", got)
	}
	calls := f.Calls()
	if !slices.ContainsFunc(calls, func(c string) bool { return strings.HasPrefix(c, "terminate s-") }) {
		t.Errorf("web's spare was not removed: %q", calls)
	}
}

// The daemon cleans up what an earlier one left while it already serves
// runs: a spare of its own is no leftover.
func TestCleanLeavesThePoolsOwnSpares(t *testing.T) {
	f := &maker{}
	p := pool(f, 1)
	defer p.Close()
	twice(t, p, opts("web"))
	eventually(t, "a spare made", made(p, 1))
	own := p.List()[0].Instance
	f.mu.Lock()
	f.left = append(f.left, &instance.Instance{ID: "old-1"})
	f.mu.Unlock()
	if err := p.Clean(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !has(f, "terminate old-1")() || has(f, "terminate "+own)() {
		t.Errorf("Clean: calls %q, want old-1 removed and %s kept", f.Calls(), own)
	}
}

// A daemon cleans while it already serves runs: a spare whose domain
// exists but whose making has not returned is the pool's own.
func TestCleanWaitsForASpareBeingMadeAndLeavesIt(t *testing.T) {
	gate := make(chan struct{})
	f := &maker{prepareGate: gate, left: []*instance.Instance{{ID: "old-1"}}}
	p := pool(f, 1)
	defer p.Close()
	var open sync.Once
	defer open.Do(func() { close(gate) }) // before Close, which waits for the making
	twice(t, p, opts("web"))
	eventually(t, "a spare begun", func() bool { return len(f.Prepared()) == 1 })
	cleaned := make(chan error)
	go func() { cleaned <- p.Clean(context.Background()) }()
	select {
	case err := <-cleaned:
		t.Fatalf("Clean returned (%v) while a spare was being made; calls %q", err, f.Calls())
	case <-time.After(20 * time.Millisecond):
	}
	open.Do(func() { close(gate) })
	if err := <-cleaned; err != nil {
		t.Fatal(err)
	}
	if !has(f, "terminate old-1")() || has(f, "terminate s-3")() {
		t.Errorf("Clean: calls %q, want old-1 removed and s-3 kept", f.Calls())
	}
}

// ... and so is one a launch is taking.
func TestCleanLeavesASpareBeingTaken(t *testing.T) {
	gate := make(chan struct{})
	f := &maker{}
	p := pool(f, 1)
	defer p.Close()
	twice(t, p, opts("web"))
	eventually(t, "a spare made", made(p, 1))
	f.mu.Lock()
	f.takeGate = gate
	f.mu.Unlock()
	got := make(chan *instance.Instance)
	go func() { got <- launch(t, p, opts("web")) }()
	eventually(t, "the spare claimed", func() bool { return len(p.List()) == 0 })
	if err := p.Clean(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(gate)
	if inst := <-got; inst.ID != "s-3" || has(f, "terminate s-3")() {
		t.Errorf("launch = %s, calls %q: want the spare taken, not removed", inst.ID, f.Calls())
	}
}
