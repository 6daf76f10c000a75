package cadence

import (
	"testing"
	"time"
)

// eachInstant calls check with 1000 instants spread over many intervals
// of every, and what f returns for each.
func eachInstant(every time.Duration, f func(time.Time, time.Duration) time.Time, check func(now, got time.Time)) {
	base := time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	for i := range 1000 {
		now := base.Add(time.Duration(i) * 7919 * time.Microsecond)
		check(now, f(now, every))
	}
}

func TestNextIsOnTheGridAndAtLeastHalfAnIntervalAway(t *testing.T) {
	const every = 1500 * time.Millisecond
	eachInstant(every, Next, func(now, got time.Time) {
		if got.Truncate(every) != got {
			t.Fatalf("Next(%v) = %v, not on the %v grid", now, got, every)
		}
		if gap := got.Sub(now); gap < every/2 || gap > every*3/2 {
			t.Fatalf("Next(%v) is %v away, want within [%v, %v]", now, gap, every/2, every*3/2)
		}
	})
}

func TestNextAfterATickOnTheGridIsOneIntervalLater(t *testing.T) {
	const every = time.Second
	tick := time.Date(2026, 12, 2, 4, 0, 7, 0, time.UTC)
	// The task ran for a few milliseconds after its tick.
	if got, want := Next(tick.Add(3*time.Millisecond), every), tick.Add(every); !got.Equal(want) {
		t.Fatalf("next tick %v, want %v", got, want)
	}
}

func TestTasksStartedApartShareTicks(t *testing.T) {
	const every = time.Second
	start := time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	a, b := Next(start.Add(100*time.Millisecond), every), Next(start.Add(420*time.Millisecond), every)
	if !a.Equal(b) {
		t.Fatalf("tasks started 320ms apart tick at %v and %v, want one instant", a, b)
	}
}

func TestAfterIsOnTheGridAndNeverMoreThanAnIntervalAway(t *testing.T) {
	const every = 1500 * time.Millisecond
	eachInstant(every, After, func(now, got time.Time) {
		if got.Truncate(every) != got {
			t.Fatalf("After(%v) = %v, not on the %v grid", now, got, every)
		}
		if gap := got.Sub(now); gap <= 0 || gap > every {
			t.Fatalf("After(%v) is %v away, want within (0, %v]", now, gap, every)
		}
	})
}
