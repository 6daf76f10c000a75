package topview

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// at is 02:41:07 on the local clock, as the lines show it.
var at = time.Date(2026, 11, 1, 2, 41, 7, 0, time.Local)

// shop is two services of one fleet and one of another, with an
// instance in each health state.
func shop() api.Metrics {
	return api.Metrics{Time: at, Services: []api.ServiceMetrics{
		{Fleet: "shop", Service: "api", Desired: 2, Min: 1, Max: 6, InService: 2, Pending: 1, Draining: 1,
			CPUPercent: 63.1, ConnRate: 24, ActiveConns: 3, Instances: []api.InstanceMetrics{
				{ID: "i-0123456789ab", Phase: api.InService, Health: "healthy", CPUPercent: 63.1, CPUCap: 0.5,
					RSSBytes: 245 << 20, LimitBytes: 384 << 20, NetRxRate: 1200, NetTxRate: 3400, ConnRate: 12, ActiveConns: 2},
				{ID: "i-0123456789ac", Phase: api.InService, Health: "healthy", CPUPercent: 80, CPUCap: 0.5,
					RSSBytes: 250 << 20, LimitBytes: 384 << 20, NetRxRate: 999.6, ConnRate: 12, ActiveConns: 1},
				{ID: "i-0123456789ad", Phase: api.Pending, Health: "initial", Reason: "Elb.InitialHealthChecking", CPUCap: 0.5,
					RSSBytes: 90 << 20, LimitBytes: 384 << 20},
				{ID: "i-0123456789ae", Phase: api.Terminating, Health: "draining", Reason: "Target.DeregistrationInProgress", CPUPercent: 2, CPUCap: 0.5,
					RSSBytes: 240 << 20, LimitBytes: 384 << 20},
				{Phase: api.Pending, Health: "-", CPUCap: 0.5, LimitBytes: 384 << 20},
			}},
		{Fleet: "shop", Service: "web", Desired: 1, Min: 1, Max: 1},
		{Fleet: "blog", Service: "api", Desired: 1, Min: 0, Max: 100, Instances: []api.InstanceMetrics{
			{ID: "i-0fedcba98765", Phase: api.InService, Health: "unhealthy", Reason: "Target.FailedHealthChecks", CPUCap: 2,
				RSSBytes: 1 << 30, LimitBytes: 3 << 29},
		}},
	}}
}

func TestLinesAreOneServiceLineThenOneKeyValueLinePerInstance(t *testing.T) {
	m := shop()
	m.Services = m.Services[:1]
	want := []string{
		"02:41:07 shop/api desired=2 in_service=2 pending=1 draining=1 cpu=63.1% conn_rate=24.0/s active=3 min=1 max=6",
		"02:41:07 shop/api i-0123456789ab phase=InService health=healthy cpu=63.1% cap=0.5 rss=245MiB limit=384MiB net_in=1.2kB/s net_out=3.4kB/s conn_rate=12.0/s active=2",
		"02:41:07 shop/api i-0123456789ac phase=InService health=healthy cpu=80.0% cap=0.5 rss=250MiB limit=384MiB net_in=1kB/s net_out=0B/s conn_rate=12.0/s active=1",
		"02:41:07 shop/api i-0123456789ad phase=Pending health=initial reason=Elb.InitialHealthChecking cpu=0.0% cap=0.5 rss=90MiB limit=384MiB net_in=0B/s net_out=0B/s conn_rate=0.0/s active=0",
		"02:41:07 shop/api i-0123456789ae phase=Terminating health=draining reason=Target.DeregistrationInProgress cpu=2.0% cap=0.5 rss=240MiB limit=384MiB net_in=0B/s net_out=0B/s conn_rate=0.0/s active=0",
		// Pending, not launched yet: no id and no memory.
		"02:41:07 shop/api - phase=Pending health=- cpu=0.0% cap=0.5 rss=- limit=384MiB net_in=0B/s net_out=0B/s conn_rate=0.0/s active=0",
	}
	if got := Lines(m); !slices.Equal(got, want) {
		t.Errorf("Lines =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLinesKeepAFieldWithSpacesOneWord(t *testing.T) {
	m := api.Metrics{Time: at, Services: []api.ServiceMetrics{{Service: "solo", Instances: []api.InstanceMetrics{
		{ID: "i-1", Phase: api.InService, Health: "unhealthy", Reason: "check failed: 503 Service Unavailable", CPUCap: 1},
	}}}}
	want := []string{
		// A service of no fleet is named alone.
		"02:41:07 solo desired=0 in_service=0 pending=0 draining=0 cpu=0.0% conn_rate=0.0/s active=0 min=0 max=0",
		`02:41:07 solo i-1 phase=InService health=unhealthy reason="check failed: 503 Service Unavailable" cpu=0.0% cap=1 rss=- limit=- net_in=0B/s net_out=0B/s conn_rate=0.0/s active=0`,
	}
	if got := Lines(m); !slices.Equal(got, want) {
		t.Errorf("Lines =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestFilterMatchesAServiceNameOrFleetSlashService(t *testing.T) {
	for _, tc := range []struct {
		service string
		want    []string
	}{
		{"", []string{"shop/api", "shop/web", "blog/api"}},
		{"api", []string{"shop/api", "blog/api"}},
		{"shop/api", []string{"shop/api"}},
		{"web", []string{"shop/web"}},
		{"shop", nil}, // a fleet alone is no service
		{"shop/ap", nil},
		{"nosuch", nil},
	} {
		got := Filter(shop(), tc.service)
		var names []string
		for _, s := range got.Services {
			names = append(names, Name(s))
		}
		if !slices.Equal(names, tc.want) {
			t.Errorf("Filter(%q) = %q, want %q", tc.service, names, tc.want)
		}
		if !got.Time.Equal(at) {
			t.Errorf("Filter(%q) lost the sample's time: %v", tc.service, got.Time)
		}
	}
}

func TestSortByCPUPutsTheBusiestFirstAndLeavesTheSampleAlone(t *testing.T) {
	m := shop()
	sorted := SortByCPU(m)
	var got []string
	for _, in := range sorted.Services[0].Instances {
		got = append(got, in.ID)
	}
	// Equal CPU keeps the daemon's order (by id).
	want := []string{"i-0123456789ac", "i-0123456789ab", "i-0123456789ae", "i-0123456789ad", ""}
	if !slices.Equal(got, want) {
		t.Errorf("SortByCPU order = %q, want %q", got, want)
	}
	if m.Services[0].Instances[0].ID != "i-0123456789ab" {
		t.Errorf("SortByCPU reordered its input: first is now %s", m.Services[0].Instances[0].ID)
	}
}

func TestHeaderSummarisesTheService(t *testing.T) {
	want := "shop/api  in service 2/2  min..max 1..6  pending 1  draining 1  cpu 63.1%  conn 24.0/s  active 3"
	if got := Header(shop().Services[0]); got != want {
		t.Errorf("Header =\n%s\nwant\n%s", got, want)
	}
}

func TestRowShowsCPUOfTheCapMemoryAgainstTheLimitAndTheReason(t *testing.T) {
	s := shop()
	for _, tc := range []struct {
		in   api.InstanceMetrics
		want []string
	}{
		{s.Services[0].Instances[0], []string{"i-0123456789ab", "InService", "healthy", "63% of 0.5", "245MiB / 384MiB", "1.2kB/s", "3.4kB/s", "12.0", "2"}},
		{s.Services[0].Instances[3], []string{"i-0123456789ae", "Terminating", "draining (Target.DeregistrationInProgress)", "2% of 0.5", "240MiB / 384MiB", "0B/s", "0B/s", "0.0", "0"}},
		{s.Services[2].Instances[0], []string{"i-0fedcba98765", "InService", "unhealthy (Target.FailedHealthChecks)", "0% of 2", "1GiB / 1.5GiB", "0B/s", "0B/s", "0.0", "0"}},
	} {
		got := Row(tc.in)
		if !slices.Equal(got, tc.want) {
			t.Errorf("Row(%s) = %q, want %q", tc.in.ID, got, tc.want)
		}
		if len(got) != len(Columns()) {
			t.Errorf("Row(%s) has %d cells for %d columns", tc.in.ID, len(got), len(Columns()))
		}
	}
}
