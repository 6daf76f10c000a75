package metrics

import (
	"math"
	"time"
)

// Window returns one series' points from from (inclusive) to to
// (exclusive), oldest first, without the seconds that have none: what
// CloudWatch's statistics are computed from. An entity or metric not
// kept has none.
func (r *Recorder) Window(entity, metric string, from, to time.Time) []Point {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.series[seriesKey{entity, metric}]
	if s == nil {
		return nil
	}
	return s.between(from, to)
}

// between is the points of the seconds in [from, to).
func (r *ring) between(from, to time.Time) []Point {
	if r.last == 0 || !from.Before(to) {
		return nil
	}
	lo := max(ceilSecond(from), r.last-slots+1, r.first)
	hi := min(ceilSecond(to)-1, r.last)
	var out []Point
	for s := lo; s <= hi; s++ {
		v := *r.slot(s)
		if math.IsNaN(float64(v)) {
			continue
		}
		out = append(out, Point{Time: time.Unix(s, 0).UTC(), Value: float64(v)})
	}
	return out
}

// ceilSecond is the first whole second at or after t.
func ceilSecond(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}
