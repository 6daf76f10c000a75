package metrics

import (
	"fmt"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/balancer"
	"github.com/vmfleet/vmfleet/pkg/health"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

// fleet builds one group of n in-service instances and their stats.
func fleet(n int, cpu time.Duration, conns int64) (map[string]hypervisor.Stats, []Group) {
	stats := map[string]hypervisor.Stats{}
	g := Group{Fleet: "shop", Service: "api", Desired: n, Min: 1, Max: 6, CPU: 0.5, LimitBytes: 384 << 20}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("i-%012d", i)
		dom, addr := "vmfleet-shop-api-"+id, fmt.Sprintf("127.0.0.1:%d", 40000+i)
		g.Members = append(g.Members, Member{ID: id, Domain: dom, Address: addr, Phase: api.InService, Health: "healthy"})
		g.Targets = append(g.Targets, balancer.TargetStatus{Addr: addr, State: health.Healthy, Connections: conns, ActiveConns: 2})
		stats[dom] = hypervisor.Stats{CPUTime: cpu, RSSKiB: 200 << 10, MemoryKiB: 128 << 10, NetRxBytes: uint64(conns) * 100}
	}
	return stats, []Group{g}
}

func TestCPUIsAPercentOfTheCapAndCountersBecomeRates(t *testing.T) {
	r := NewRecorder()
	t0 := time.Unix(1_800_000_000, 0)
	record(r, t0, 2, 10*time.Second, 100)
	// One second later each instance used 0.25 s of CPU: half its 0.5-core cap.
	m := record(r, t0.Add(time.Second), 2, 10*time.Second+250*time.Millisecond, 130)
	s := m.Services[0]
	if s.InService != 2 || s.Desired != 2 || s.Pending != 0 {
		t.Errorf("counts: %+v", s)
	}
	i := s.Instances[0]
	if math.Abs(i.CPUPercent-50) > 0.01 || math.Abs(s.CPUPercent-50) > 0.01 {
		t.Errorf("CPU %.2f%% of cap (service %.2f%%), want 50%%", i.CPUPercent, s.CPUPercent)
	}
	if i.ConnRate != 30 || s.ConnRate != 60 || i.NetRxRate != 3000 || s.ActiveConns != 4 {
		t.Errorf("rates: instance %+v, service conn rate %v", i, s.ConnRate)
	}
	h := r.History(t0.Add(time.Second), "shop/api", time.Minute)
	var cpu []api.Point
	for _, sr := range h {
		if sr.Metric == "cpu_percent" {
			cpu = sr.Points
		}
	}
	if len(cpu) != 2 || cpu[1].Value < 49.99 {
		t.Errorf("history of the service's CPU: %v", cpu)
	}
}

func TestPrometheusNamesAreValidAndReadAtScrapeTime(t *testing.T) {
	r := NewRecorder()
	t0 := time.Unix(1_800_000_000, 0)
	record(r, t0, 3, time.Second, 5)
	record(r, t0.Add(time.Second), 3, 2*time.Second, 9)
	if problems, err := testutil.CollectAndLint(r); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(r)
	for _, want := range []string{
		`vmfleet_group_desired_capacity{fleet="shop",service="api"} 3`,
		`vmfleet_target_connections_total{fleet="shop",instance="i-000000000000",service="api"} 9`,
		`vmfleet_instance_cpu_utilization_ratio{fleet="shop",instance="i-000000000001",service="api"} 2`,
		`vmfleet_target_health_state{fleet="shop",instance="i-000000000002",reason="",service="api",state="healthy"} 1`,
	} {
		rec := httptest.NewRecorder()
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
}

// BenchmarkRecord20Instances is the daemon's per-second work for 20.
func BenchmarkRecord20Instances(b *testing.B) {
	r := NewRecorder()
	t0 := time.Unix(1_800_000_000, 0)
	i := 0
	for b.Loop() {
		i++
		stats, groups := fleet(20, time.Duration(i)*time.Millisecond, int64(i))
		r.Record(t0.Add(time.Duration(i)*time.Second), stats, groups)
	}
}

// BenchmarkScrape100Instances is one /metrics scrape with 100.
func BenchmarkScrape100Instances(b *testing.B) {
	r := NewRecorder()
	t0 := time.Unix(1_800_000_000, 0)
	record(r, t0, 100, time.Second, 1)
	record(r, t0.Add(time.Second), 100, 2*time.Second, 2)
	reg := prometheus.NewRegistry()
	reg.MustRegister(r)
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	}
}

func record(r *Recorder, now time.Time, n int, cpu time.Duration, conns int64) api.Metrics {
	stats, groups := fleet(n, cpu, conns)
	return r.Record(now, stats, groups)
}

func TestWithoutInterfaceCountersTheNetworkIsWhatTheBalancerCarries(t *testing.T) {
	r := NewRecorder()
	t0 := time.Unix(1_800_000_000, 0)
	at := func(now time.Time, in, out int64) api.Metrics {
		stats, groups := fleet(1, time.Second, 1)
		for d, st := range stats {
			st.NetRxBytes, st.NetTxBytes = 0, 0 // user-mode networking
			stats[d] = st
		}
		groups[0].Targets[0].BytesIn, groups[0].Targets[0].BytesOut = in, out
		return r.Record(now, stats, groups)
	}
	at(t0, 1000, 5000)
	i := at(t0.Add(2*time.Second), 3000, 9000).Services[0].Instances[0]
	if i.NetRxRate != 1000 || i.NetTxRate != 2000 {
		t.Errorf("net rates %v in, %v out; want 1000 and 2000 a second from the balancer's bytes", i.NetRxRate, i.NetTxRate)
	}
}
