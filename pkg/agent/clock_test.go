package agent

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSetClockHandsTheGuestTheHostsTime(t *testing.T) {
	q := newQEMU(t)
	var mu sync.Mutex
	var got time.Time
	g := &Guest{Open: q.open, SetClock: func(t time.Time) error { mu.Lock(); got = t; mu.Unlock(); return nil }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go g.Run(ctx)
	l := OpenLink(q.socket, LinkOptions{})
	defer l.Close()
	before := time.Now()
	cctx, ccancel := context.WithTimeout(ctx, waitFor)
	defer ccancel()
	if err := l.SetClock(cctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got.Before(before) || got.After(time.Now()) {
		t.Errorf("the guest was given %v, want the host's time at the call (after %v)", got, before)
	}
}

func TestSetClockReportsTheGuestsFailure(t *testing.T) {
	q := newQEMU(t)
	g := &Guest{Open: q.open, SetClock: func(time.Time) error { return errors.New("operation not permitted") }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go g.Run(ctx)
	l := OpenLink(q.socket, LinkOptions{})
	defer l.Close()
	cctx, ccancel := context.WithTimeout(ctx, waitFor)
	defer ccancel()
	if err := l.SetClock(cctx); err == nil || !strings.Contains(err.Error(), "operation not permitted") {
		t.Fatalf("SetClock: %v, want the guest's error", err)
	}
}

func TestAGuestWithoutAClockRefusesToSetIt(t *testing.T) {
	l, _, _ := start(t)
	cctx, ccancel := context.WithTimeout(context.Background(), waitFor)
	defer ccancel()
	if err := l.SetClock(cctx); err == nil || !strings.Contains(err.Error(), `serves no "clock"`) {
		t.Fatalf("SetClock: %v, want a refusal", err)
	}
}
