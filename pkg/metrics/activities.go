package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Activities counts the activity history's events for Prometheus, so a
// dashboard can mark scaling activities on its graphs. Add is called by
// whichever goroutine publishes an event, with the publisher's lock held:
// it only increments under its own lock and never waits on a scrape.
type Activities struct {
	mu sync.Mutex
	n  map[activityKey]float64
}

type activityKey struct{ fleet, service, kind string }

// NewActivities returns counters at zero: events kept from before a
// restart are not counted again, or they would mark the restart.
func NewActivities() *Activities {
	return &Activities{n: map[activityKey]float64{}}
}

// Add counts one event. Kinds are the daemon's own words (a few dozen),
// so the series stay few.
func (a *Activities) Add(fleet, service, kind string) {
	a.mu.Lock()
	a.n[activityKey{fleet, service, kind}]++
	a.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (a *Activities) Describe(ch chan<- *prometheus.Desc) { ch <- descActivities }

// Collect copies the counts, then sends them without the lock: a slow
// scrape never stalls a publisher.
func (a *Activities) Collect(ch chan<- prometheus.Metric) {
	a.mu.Lock()
	counts := make(map[activityKey]float64, len(a.n))
	for k, v := range a.n {
		counts[k] = v
	}
	a.mu.Unlock()
	for k, v := range counts {
		ch <- prometheus.MustNewConstMetric(descActivities, prometheus.CounterValue, v, k.fleet, k.service, k.kind)
	}
}

var _ prometheus.Collector = (*Activities)(nil)
