package agent

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"
)

// burnGuest starts a guest whose burns are reported on the channels.
func burnGuest(t *testing.T, burn bool) (*Link, chan struct{}, chan struct{}) {
	t.Helper()
	q := newQEMU(t)
	started, ended := make(chan struct{}, 1), make(chan struct{}, 1)
	g := &Guest{Open: q.open}
	if burn {
		g.Burn = func(ctx context.Context) {
			started <- struct{}{}
			<-ctx.Done()
			ended <- struct{}{}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	go g.Run(ctx)
	l := OpenLink(q.socket, LinkOptions{})
	t.Cleanup(func() { l.Close(); cancel() })
	return l, started, ended
}

func wait(t *testing.T, ch chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitFor):
		t.Fatalf("%s: not within %s", what, waitFor)
	}
}

// A burn runs from Burn's return until the host closes its stream.
func TestABurnRunsUntilTheHostClosesItsStream(t *testing.T) {
	l, started, ended := burnGuest(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	st, err := l.Burn(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, started, "the burn started")
	select {
	case <-ended:
		t.Fatal("the burn ended with its stream open")
	case <-time.After(200 * time.Millisecond):
	}
	st.Close()
	wait(t, ended, "the burn ended once its stream closed")
}

// The guest ends a burn whose time passed even if the host never closes
// it: a host gone wrong leaves no guest burning.
func TestABurnEndsInTheGuestWhenItsTimePasses(t *testing.T) {
	l, started, ended := burnGuest(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	st, err := l.Burn(ctx, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	wait(t, started, "the burn started")
	wait(t, ended, "the burn ended after its second")
}

// A guest whose init has no burn says so, and the host names it.
func TestAGuestWithoutBurnsRefusesOne(t *testing.T) {
	l, _, _ := burnGuest(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if _, err := l.Burn(ctx, time.Second); !errors.Is(err, ErrNoBurn) {
		t.Fatalf("burn on a guest without burns: %v; want ErrNoBurn", err)
	}
}

// BurnCPUs uses CPU until its ctx ends, then returns.
func TestBurnCPUsBurnsUntilItsContextEnds(t *testing.T) {
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan struct{})
	go func() { BurnCPUs(ctx); close(done) }()
	select {
	case <-done:
	case <-time.After(waitFor):
		t.Fatal("BurnCPUs did not return once its ctx ended")
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	used := time.Duration(after.Utime.Nano() - before.Utime.Nano())
	if used < 150*time.Millisecond {
		t.Errorf("BurnCPUs used %s of CPU in 300ms, want most of it", used)
	}
}
