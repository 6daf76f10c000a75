package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestActivitiesCountEachFleetServiceAndKindApart(t *testing.T) {
	a := NewActivities()
	a.Add("shop", "api", "scaled")
	a.Add("shop", "api", "scaled")
	a.Add("shop", "web", "scaled")
	a.Add("shop", "", "down") // a fleet's own event has no service
	if problems, err := testutil.CollectAndLint(a); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(a)
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{
		"# TYPE vmfleet_group_activities_total counter",
		`vmfleet_group_activities_total{fleet="shop",kind="scaled",service="api"} 2`,
		`vmfleet_group_activities_total{fleet="shop",kind="scaled",service="web"} 1`,
		`vmfleet_group_activities_total{fleet="shop",kind="down",service=""} 1`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
}
