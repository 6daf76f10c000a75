package metrics

import (
	"math"
	"testing"
	"time"
)

func TestARingKeepsAnHourAtOneSecondAndSkipsGaps(t *testing.T) {
	var r ring
	start := time.Unix(1_800_000_000, 0)
	for i := 0; i < 4000; i++ { // more than an hour: the oldest fall off
		if i == 3990 {
			continue // a second with no sample
		}
		r.put(start.Add(time.Duration(i)*time.Second), float64(i))
	}
	now := start.Add(3999 * time.Second)
	all := r.since(now, 2*time.Hour)
	if len(all) != 3599 || all[0].Value != 400 || all[len(all)-1].Value != 3999 {
		t.Fatalf("want the last hour (400..3999 less one gap), got %d points from %v to %v", len(all), all[0], all[len(all)-1])
	}
	last10 := r.since(now, 10*time.Second)
	if len(last10) != 9 { // 3990..3999 is ten seconds, one without a point
		t.Errorf("last 10s: %d points, want 9: %v", len(last10), last10)
	}
	for _, p := range last10 {
		if math.IsNaN(p.Value) || p.Value == 3990 {
			t.Errorf("the skipped second came back: %v", p)
		}
	}
}

func TestARingOfAShortLifeCostsOnlyItsLife(t *testing.T) {
	var r ring
	start := time.Unix(1_800_000_000, 0)
	for i := range 300 { // five minutes
		r.put(start.Add(time.Duration(i)*time.Second), float64(i))
	}
	if c := cap(r.points); c > 600 {
		t.Fatalf("five minutes of points hold room for %d seconds, want at most twice their length", c)
	}
	if got := r.since(start.Add(299*time.Second), time.Hour); len(got) != 300 || got[299].Value != 299 {
		t.Fatalf("got %d points, want the 300 put", len(got))
	}
}
