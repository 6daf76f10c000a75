package cloudwatchapi

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// statistic is one statistic a request asks for: one of AWS's five, or
// a percentile (p99, p99.9).
type statistic struct {
	name       string
	percentile float64 // of a pNN; NaN for the others
}

// statisticNames are AWS's statistics, as its messages list them.
var statisticNames = []string{"Maximum", "Minimum", "Sum", "SampleCount", "Average"}

var percentilePattern = regexp.MustCompile(`^p(100(\.0{1,10})?|\d{1,2}(\.\d{1,10})?)$`)

// parseStatistic reads a statistic's name; false for one vmfleet does
// not compute (AWS's trimmed means and counts, tm99, tc99, ...).
func parseStatistic(name string) (statistic, bool) {
	if slices.Contains(statisticNames, name) {
		return statistic{name: name, percentile: math.NaN()}, true
	}
	if percentilePattern.MatchString(name) {
		p, err := strconv.ParseFloat(name[1:], 64)
		return statistic{name: name, percentile: p}, err == nil
	}
	return statistic{}, false
}

func (s statistic) isPercentile() bool { return !math.IsNaN(s.percentile) }

// of is the statistic of a period's values, which are sorted.
func (s statistic) of(sorted []float64) float64 {
	if s.isPercentile() {
		// Nearest rank: the smallest value at or above p percent of
		// the samples.
		rank := int(math.Ceil(s.percentile / 100 * float64(len(sorted))))
		return sorted[max(rank, 1)-1]
	}
	switch s.name {
	case "Maximum":
		return sorted[len(sorted)-1]
	case "Minimum":
		return sorted[0]
	case "SampleCount":
		return float64(len(sorted))
	}
	var sum float64
	for _, v := range sorted {
		sum += v
	}
	if s.name == "Average" {
		return sum / float64(len(sorted))
	}
	return sum
}

// validPeriod tells whether seconds is a period CloudWatch accepts: a
// multiple of 60, or one of the high-resolution periods given.
func validPeriod(seconds int32, highResolution ...int32) bool {
	return seconds > 0 && (seconds%60 == 0 || slices.Contains(highResolution, seconds))
}

// window is the periods a request asks for: from its start, rounded
// down as CloudWatch rounds it (to the minute, or to a multiple of a
// period shorter than a minute), a period at a time up to its end.
type window struct {
	start, end time.Time
	period     time.Duration
}

func newWindow(start, end time.Time, periodSeconds int32) window {
	period := time.Duration(periodSeconds) * time.Second
	return window{start: start.Truncate(min(period, time.Minute)), end: end, period: period}
}

// periods is how many periods the window holds.
func (w window) periods() int64 {
	return int64((w.end.Sub(w.start) + w.period - 1) / w.period)
}

// period is one period's samples.
type period struct {
	start  time.Time
	values []float64 // sorted
}

// split puts the samples in their periods, and returns those that have
// any, oldest first: a period without samples has no datapoint.
func (w window) split(samples []api.Point) []period {
	byIndex := map[int64][]float64{}
	for _, p := range samples {
		if p.Time.Before(w.start) || !p.Time.Before(w.end) || math.IsNaN(p.Value) {
			continue
		}
		i := int64(p.Time.Sub(w.start) / w.period)
		byIndex[i] = append(byIndex[i], p.Value)
	}
	out := make([]period, 0, len(byIndex))
	for i, values := range byIndex {
		slices.Sort(values)
		out = append(out, period{start: w.start.Add(time.Duration(i) * w.period), values: values})
	}
	slices.SortFunc(out, func(a, b period) int { return a.start.Compare(b.start) })
	return out
}

// read is the periods of a stream over the window; none for no stream.
func (w window) read(s *stream) []period {
	if s == nil {
		return nil
	}
	return w.split(s.samples(w.start, w.end))
}
