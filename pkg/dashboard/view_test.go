package dashboard

import (
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
)

func TestAnInstanceGoneStaysOnThePageAsTerminatedForAWhile(t *testing.T) {
	f := newFakeFleet(2, 1, 4)
	g := newGhosts()
	t0 := time.Now()
	g.apply(t0, buildView(f.Statuses(), f.Metrics(), nil))
	gone := f.svc.Instances[0].ID
	f.svc.Instances = f.svc.Instances[1:]

	tiles := func(at time.Time) []tile {
		return g.apply(at, buildView(f.Statuses(), f.Metrics(), nil)).Fleets[0].Services[0].Tiles
	}
	got := tiles(t0.Add(time.Second))
	if len(got) != 2 || got[0].ID != gone || got[0].Phase != terminated || phaseClass(got[0].Phase) != "terminated" {
		t.Fatalf("a second after: %+v, want %s first, Terminated", got, gone)
	}
	if got := tiles(t0.Add(ghostFor + 2*time.Second)); len(got) != 1 {
		t.Fatalf("after %s: %+v, want it gone", ghostFor, got)
	}

	// A launch that never got a machine leaves nothing behind.
	f.svc.Instances = append(f.svc.Instances, api.Instance{ID: "launch-1", Phase: api.Pending})
	tiles(t0.Add(20 * time.Second))
	f.svc.Instances = f.svc.Instances[:1]
	if got := tiles(t0.Add(21 * time.Second)); len(got) != 1 {
		t.Fatalf("a placeholder gone: %+v, want no Terminated tile for it", got)
	}
}

func TestTheViewCountsWhatTheTilesShow(t *testing.T) {
	f := newFakeFleet(3, 1, 6)
	f.svc.Instances[1].Phase = api.PendingWait
	f.svc.Instances[2].Phase = api.TerminatingWait
	s := buildView(f.Statuses(), f.Metrics(), nil).Fleets[0].Services[0]
	if s.Pending != 1 || s.Terminating != 1 {
		t.Fatalf("pending %d, terminating %d; want 1 and 1", s.Pending, s.Terminating)
	}
	if s.Tiles[0].MemPercent != 40 {
		t.Fatalf("memory %.1f%% of its limit, want 64 MiB of 160 MiB: 40%%", s.Tiles[0].MemPercent)
	}
}
