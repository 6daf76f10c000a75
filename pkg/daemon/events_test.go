package daemon

import (
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
)

func TestEventIDsGrowWithinASecondAndAcrossARestart(t *testing.T) {
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	h := newHub(nil)
	for range 3 {
		h.publish(api.Event{Time: at, Kind: "launch"}) // the same microsecond
	}
	first := h.history()
	if first[0].ID != at.UnixMicro() || first[1].ID != first[0].ID+1 || first[2].ID != first[1].ID+1 {
		t.Fatalf("IDs %d %d %d: want the time in µs, then one more each", first[0].ID, first[1].ID, first[2].ID)
	}

	// The daemon crashed before keeping the last two: a reader has seen
	// IDs the restarted daemon does not know, and its next event must
	// still come after them, which its clock gives.
	again := newHub(first[:1])
	again.publish(api.Event{Time: at.Add(time.Millisecond), Kind: "launch"})
	if got := again.history()[1].ID; got <= first[2].ID {
		t.Fatalf("after a restart: ID %d, not after the %d a reader saw", got, first[2].ID)
	}
	// A clock set back still gives IDs after what was kept.
	again.publish(api.Event{Time: at.Add(-time.Hour), Kind: "launch"})
	if h := again.history(); h[2].ID != h[1].ID+1 {
		t.Fatalf("clock set back: ID %d after %d", h[2].ID, h[1].ID)
	}
}

func TestEventsKeptBeforeIDsGetThemInOrder(t *testing.T) {
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	h := newHub([]api.Event{{Time: at}, {Time: at}, {ID: at.UnixMicro() + 5, Time: at}})
	got := h.history()
	if got[0].ID != at.UnixMicro() || got[1].ID != at.UnixMicro()+1 || got[2].ID != at.UnixMicro()+5 {
		t.Fatalf("IDs %d %d %d", got[0].ID, got[1].ID, got[2].ID)
	}
}

func TestAReaderResumesAfterTheLastEventItSaw(t *testing.T) {
	h := newHub(nil)
	for i := range 5 {
		h.publish(api.Event{Time: time.Unix(100, 0), Kind: "launch", Message: string(rune('a' + i))})
	}
	all := h.history()
	got := h.after(all[1].ID, 100)
	if len(got) != 3 || got[0].Message != "c" || got[2].Message != "e" {
		t.Fatalf("after the second: %v, want c d e", got)
	}
	if got := h.after(0, 2); len(got) != 2 || got[0].Message != "d" {
		t.Fatalf("from the start, limit 2: %v, want the newest two, d e", got)
	}
	if got := h.after(all[4].ID, 100); len(got) != 0 {
		t.Fatalf("after the newest: %v, want none", got)
	}
}
