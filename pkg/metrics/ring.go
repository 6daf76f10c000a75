package metrics

import (
	"math"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// Retention is how much history is kept, at one point a second.
const Retention = time.Hour

// ring is one series: a point a second for Retention, float32 to keep an
// hour of 20 instances' metrics in a few MiB. Seconds with no point read
// as NaN.
type ring struct {
	points [int(Retention / time.Second)]float32
	first  int64 // unix second of the oldest point ever put
	last   int64 // unix second of the newest point; 0 when empty
}

func (r *ring) put(t time.Time, v float64) {
	sec := t.Unix()
	n := int64(len(r.points))
	if r.first == 0 {
		r.first = sec
	}
	if r.last != 0 {
		// Blank the seconds skipped since the last point.
		for s := r.last + 1; s < sec && s <= r.last+n; s++ {
			r.points[s%n] = float32(math.NaN())
		}
	}
	if sec >= r.last {
		r.last = sec
	}
	r.points[sec%n] = float32(v)
}

// Point is one second's value.
type Point = api.Point

// since returns the points of the last d, oldest first, without the
// seconds that have none.
func (r *ring) since(now time.Time, d time.Duration) []Point {
	if r.last == 0 {
		return nil
	}
	n := int64(len(r.points))
	from := max(now.Add(-d).Unix()+1, r.last-n+1, r.first)
	var out []Point
	for s := from; s <= r.last; s++ {
		v := r.points[s%n]
		if math.IsNaN(float64(v)) {
			continue
		}
		out = append(out, Point{Time: time.Unix(s, 0).UTC(), Value: float64(v)})
	}
	return out
}
