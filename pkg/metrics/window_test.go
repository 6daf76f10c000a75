package metrics

import (
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

func TestAWindowIsTheSecondsFromItsStartUpToItsEnd(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	at := func(i int) time.Time { return start.Add(time.Duration(i) * time.Second) }
	// More than an hour, so the oldest fall off, and a second with no
	// sample: each second's value is its number.
	var r ring
	for i := range 4000 {
		if i != 3990 {
			r.put(at(i), float64(i))
		}
	}
	for _, c := range []struct {
		name        string
		from, to    time.Time
		n           int
		first, last float64
	}{
		{"whole seconds: the start in, the end out", at(3980), at(3995), 14, 3980, 3994}, // 3990 has no point
		{"a start within a second begins at the next", at(3980).Add(time.Millisecond), at(3985), 4, 3981, 3984},
		{"an end within a second takes that second", at(3980), at(3984).Add(time.Millisecond), 5, 3980, 3984},
		{"older than an hour is gone", at(0), at(402), 2, 400, 401},
		{"after the newest point", at(3999), at(5000), 1, 3999, 3999},
	} {
		got := r.between(c.from, c.to)
		if len(got) != c.n || got[0].Value != c.first || got[len(got)-1].Value != c.last || !got[0].Time.Equal(at(int(c.first))) {
			t.Errorf("%s: got %d points %v .. %v, want %d from %v to %v", c.name, len(got), got[0], got[len(got)-1], c.n, c.first, c.last)
		}
	}
	if got := r.between(at(3995), at(3995)); len(got) != 0 {
		t.Errorf("an empty window has %d points", len(got))
	}
}

func TestTheRecordersWindowReadsOneSeriesOfOneEntity(t *testing.T) {
	r := NewRecorder()
	start := time.Unix(1_800_000_000, 0)
	for i := range 5 {
		r.Record(start.Add(time.Duration(i)*time.Second), map[string]hypervisor.Stats{},
			[]Group{{Fleet: "web", Service: "web", Desired: 2, Members: []Member{{ID: "i-1", Phase: api.InService}, {ID: "i-2", Phase: api.InService}}}})
	}
	got := r.Window("web/web", "in_service", start.Add(time.Second), start.Add(4*time.Second))
	if len(got) != 3 || got[0].Value != 2 || !got[0].Time.Equal(start.Add(time.Second)) {
		t.Fatalf("in_service of web/web over seconds 1..3: %v", got)
	}
	if got := r.Window("web/web", "no_such_metric", start, start.Add(time.Minute)); got != nil {
		t.Errorf("a metric not kept: %v", got)
	}
	if got := r.Window("i-3", "cpu_percent", start, start.Add(time.Minute)); got != nil {
		t.Errorf("an instance not kept: %v", got)
	}
}
