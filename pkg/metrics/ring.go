package metrics

import (
	"math"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// Retention is how much history is kept, at one point a second.
const Retention = time.Hour

// slots is how many seconds a ring holds.
const slots = int64(Retention / time.Second)

// ring is one series: a point a second for Retention, float32 to keep an
// hour of 20 instances' metrics in a few MiB. It grows to an hour as
// points come, so the history of an instance that lived a minute costs a
// minute. Seconds with no point read as NaN.
type ring struct {
	points []float32 // second s is at (s-first) % slots
	first  int64     // unix second of the oldest point ever put
	last   int64     // unix second of the newest point; 0 when empty
}

// slot is where second sec goes, growing the ring while it is under an hour.
func (r *ring) slot(sec int64) *float32 {
	i := (sec - r.first) % slots
	for int64(len(r.points)) <= i {
		if len(r.points) == cap(r.points) {
			grown := make([]float32, len(r.points), min(slots, max(64, 2*int64(cap(r.points)))))
			copy(grown, r.points)
			r.points = grown
		}
		r.points = append(r.points, float32(math.NaN()))
	}
	return &r.points[i]
}

func (r *ring) put(t time.Time, v float64) {
	sec := t.Unix()
	if r.first == 0 {
		r.first = sec
	}
	if sec < r.first {
		return // older than anything kept
	}
	if r.last != 0 {
		// Blank the seconds skipped since the last point.
		for s := r.last + 1; s < sec && s <= r.last+slots; s++ {
			*r.slot(s) = float32(math.NaN())
		}
	}
	if sec >= r.last {
		r.last = sec
	}
	*r.slot(sec) = float32(v)
}

// Point is one second's value.
type Point = api.Point

// since returns the points of the last d, oldest first, without the
// seconds that have none.
func (r *ring) since(now time.Time, d time.Duration) []Point {
	if r.last == 0 {
		return nil
	}
	from := max(now.Add(-d).Unix()+1, r.last-slots+1, r.first)
	var out []Point
	for s := from; s <= r.last; s++ {
		v := *r.slot(s)
		if math.IsNaN(float64(v)) {
			continue
		}
		out = append(out, Point{Time: time.Unix(s, 0).UTC(), Value: float64(v)})
	}
	return out
}
