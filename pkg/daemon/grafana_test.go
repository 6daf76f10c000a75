package daemon

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/balancer"
	"github.com/vmfleet/vmfleet/pkg/health"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/metrics"
)

// The Grafana dashboard is checked against the daemon's real /metrics
// handler, so a renamed metric fails here rather than as an empty panel,
// and a new one fails until a panel charts it.
const dashboardFile = "../../grafana/vmfleet.json"

// minSchemaVersion is Grafana 12.0's; the dashboard uses nothing the
// later migrations change, so every Grafana since imports it as it is.
const minSchemaVersion = 41

// dashboard is the part of Grafana's dashboard JSON model checked here.
type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Annotations   struct {
		List []struct {
			Name       string  `json:"name"`
			BuiltIn    int     `json:"builtIn"`
			Datasource *dsRef  `json:"datasource"`
			Expr       string  `json:"expr"`
			Target     *target `json:"target"` // where Grafana migrates expr to
		} `json:"list"`
	} `json:"annotations"`
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Datasource *dsRef          `json:"datasource"`
			Query      json.RawMessage `json:"query"` // a string, or {"query": ...}
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int      `json:"id"`
	Type       string   `json:"type"`
	Title      string   `json:"title"`
	GridPos    *gridPos `json:"gridPos"`
	Datasource *dsRef   `json:"datasource"`
	Targets    []target `json:"targets"`
	Panels     []panel  `json:"panels"` // a collapsed row's
}

type gridPos struct{ X, Y, W, H int }

type target struct {
	Expr       string `json:"expr"`
	RefID      string `json:"refId"`
	Datasource *dsRef `json:"datasource"`
}

type dsRef struct{ Type, UID string }

// query is one PromQL expression of the dashboard and where it is.
type query struct {
	where   string
	expr    string
	inPanel bool
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// allPanels is every panel, a collapsed row's included.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(append(out, p), allPanels(p.Panels)...)
	}
	return out
}

func (p panel) String() string { return fmt.Sprintf("panel %d %q", p.ID, p.Title) }

func (d dashboard) queries(t *testing.T) []query {
	var out []query
	for _, p := range allPanels(d.Panels) {
		for _, tg := range p.Targets {
			out = append(out, query{where: p.String(), expr: tg.Expr, inPanel: true})
		}
	}
	for _, a := range d.Annotations.List {
		if a.Target != nil {
			out = append(out, query{where: fmt.Sprintf("annotation %q", a.Name), expr: a.Target.Expr})
		}
		out = append(out, query{where: fmt.Sprintf("annotation %q", a.Name), expr: a.Expr})
	}
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			out = append(out, query{where: fmt.Sprintf("variable %q", v.Name), expr: variableQuery(t, v.Query)})
		}
	}
	return out
}

func variableQuery(t *testing.T, raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var q struct{ Query string }
	if err := json.Unmarshal(raw, &q); err != nil {
		t.Errorf("a variable's query %s: %v", raw, err)
	}
	return q.Query
}

// metricName finds vmfleet_ names in PromQL by scanning, not parsing:
// the parser (github.com/prometheus/prometheus/promql/parser) would bring
// most of Prometheus into the module for one test, and a name is an
// identifier starting vmfleet_ wherever it stands (a selector, inside a
// function, a {__name__="..."} matcher), which is all this needs.
var metricName = regexp.MustCompile(`(?:^|[^a-zA-Z0-9_:])(vmfleet_[a-zA-Z0-9_:]*)`)

func metricNames(expr string) []string {
	var out []string
	for _, m := range metricName.FindAllStringSubmatch(expr, -1) {
		out = append(out, m[1])
	}
	return out
}

// served scrapes the daemon's /metrics handler with a fleet behind it of
// one group, one balanced instance and one activity: every vmfleet_
// family the daemon serves has a sample. The Go and process collectors'
// families are not the dashboard's.
func served(t *testing.T) map[string]bool {
	t.Helper()
	d := &Daemon{metrics: metrics.NewRecorder(), events: newHub(nil)}
	const dom, addr = "vmfleet-shop-api-i-1", "127.0.0.1:40000"
	d.metrics.Record(time.Now(), map[string]hypervisor.Stats{dom: {CPUTime: time.Second, RSSKiB: 1 << 10}}, []metrics.Group{{
		Fleet: "shop", Service: "api", Desired: 1, Min: 1, Max: 2, CPU: 1, LimitBytes: 1 << 30,
		Members: []metrics.Member{{ID: "i-1", Domain: dom, Address: addr, Phase: api.InService, Health: "healthy"}},
		Targets: []balancer.TargetStatus{{Addr: addr, State: health.Healthy, Connections: 1}},
	}})
	d.emit(api.Event{Fleet: "shop", Service: "api", Kind: "scaled"})
	rec := httptest.NewRecorder()
	d.Prometheus().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	names := map[string]bool{}
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" && strings.HasPrefix(f[2], "vmfleet_") {
			names[f[2]] = true
		}
	}
	// A metric described but without a sample here would escape both
	// tests: the fake fleet above must feed it.
	for _, name := range described(d.metrics, d.events.counts) {
		if !names[name] {
			t.Errorf("%s is described but the scrape has no sample of it: feed it in served()", name)
		}
	}
	return names
}

var fqName = regexp.MustCompile(`^Desc\{fqName: "([^"]+)"`)

// described is the names the collectors describe; Desc has no accessor
// for its name, so it is read from Desc's String.
func described(cs ...prometheus.Collector) []string {
	ch := make(chan *prometheus.Desc, 100)
	go func() {
		for _, c := range cs {
			c.Describe(ch)
		}
		close(ch)
	}()
	var out []string
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

func TestDashboardQueriesOnlyMetricsTheDaemonServes(t *testing.T) {
	d, have := loadDashboard(t), served(t)
	if len(have) == 0 {
		t.Fatal("the scrape served no vmfleet_ metric")
	}
	for _, q := range d.queries(t) {
		for _, name := range metricNames(q.expr) {
			if !have[name] {
				t.Errorf("%s queries %s, which the daemon does not serve", q.where, name)
			}
		}
	}
}

func TestDashboardChartsEveryMetricTheDaemonServes(t *testing.T) {
	d, have := loadDashboard(t), served(t)
	charted := map[string]bool{}
	for _, q := range d.queries(t) {
		for _, name := range metricNames(q.expr) {
			charted[name] = charted[name] || q.inPanel
		}
	}
	var missing []string
	for name := range have {
		if !charted[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	for _, name := range missing {
		t.Errorf("the daemon serves %s but no panel of %s charts it", name, dashboardFile)
	}
}

func TestDashboardIsAGrafanaDashboardOnAPrometheusVariable(t *testing.T) {
	d := loadDashboard(t)
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`).MatchString(d.UID) || d.Title == "" {
		t.Errorf("uid %q and title %q: Grafana needs a uid of up to 40 letters, digits, - or _, and a title", d.UID, d.Title)
	}
	if d.SchemaVersion < minSchemaVersion {
		t.Errorf("schemaVersion %d, want at least %d", d.SchemaVersion, minSchemaVersion)
	}
	usesVariable := func(where string, ds *dsRef) {
		if ds == nil || ds.Type != "prometheus" || (ds.UID != "${datasource}" && ds.UID != "$datasource") {
			t.Errorf("%s: datasource %+v, want the prometheus ${datasource} variable, so an import picks the Prometheus", where, ds)
		}
	}

	vars := map[string]string{}
	for _, v := range d.Templating.List {
		if _, dup := vars[v.Name]; dup {
			t.Errorf("variable %q twice", v.Name)
		}
		vars[v.Name] = v.Type
		switch v.Type {
		case "datasource":
			if v.Name != "datasource" || variableQuery(t, v.Query) != "prometheus" {
				t.Errorf("variable %q of type datasource: want it named datasource, of Prometheus data sources", v.Name)
			}
		case "query":
			usesVariable(fmt.Sprintf("variable %q", v.Name), v.Datasource)
			if !strings.HasPrefix(variableQuery(t, v.Query), "label_values(") {
				t.Errorf("variable %q: want its values from label_values(...)", v.Name)
			}
		}
	}
	for _, name := range []string{"datasource", "fleet", "service"} {
		if _, ok := vars[name]; !ok {
			t.Errorf("no %q variable", name)
		}
	}

	for _, a := range d.Annotations.List {
		if a.BuiltIn == 0 {
			usesVariable(fmt.Sprintf("annotation %q", a.Name), a.Datasource)
		}
	}

	ids := map[int]bool{}
	for _, p := range allPanels(d.Panels) {
		if p.ID <= 0 || ids[p.ID] {
			t.Errorf("%s: ids must be positive and unique", p)
		}
		ids[p.ID] = true
		if p.Title == "" || p.Type == "" {
			t.Errorf("%s: no title or type", p)
		}
		if g := p.GridPos; g == nil || g.W <= 0 || g.H <= 0 || g.X < 0 || g.Y < 0 || g.X+g.W > 24 {
			t.Errorf("%s: gridPos %+v is not on Grafana's 24-column grid", p, g)
		}
		if p.Type == "row" {
			continue
		}
		usesVariable(p.String(), p.Datasource)
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.Expr == "" || tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("%s: a target without an expr or with a missing or repeated refId %q", p, tg.RefID)
			}
			refs[tg.RefID] = true
			if tg.Datasource != nil {
				usesVariable(p.String(), tg.Datasource)
			}
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: no query", p)
		}
	}

	// Panels of a collapsed row take their places when it opens; the
	// top level must not overlap.
	for i, a := range d.Panels {
		for _, b := range d.Panels[i+1:] {
			if a.GridPos != nil && b.GridPos != nil && overlap(*a.GridPos, *b.GridPos) {
				t.Errorf("%s and %s overlap", a, b)
			}
		}
	}
}

func overlap(a, b gridPos) bool {
	return a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H
}

func TestEveryActivityCountsOnceInPrometheusByFleetServiceAndKind(t *testing.T) {
	d := &Daemon{metrics: metrics.NewRecorder(), events: newHub([]api.Event{{Fleet: "shop", Service: "api", Kind: "scaled"}})}
	d.emit(api.Event{Fleet: "shop", Service: "api", Kind: "scaled"})
	d.emit(api.Event{Fleet: "shop", Service: "api", Kind: "scaled"})
	d.emit(api.Event{Fleet: "shop", Service: "api", Kind: "launched"})
	rec := httptest.NewRecorder()
	d.Prometheus().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{
		// the kept past (before a restart) is not counted again
		`vmfleet_group_activities_total{fleet="shop",kind="scaled",service="api"} 2`,
		`vmfleet_group_activities_total{fleet="shop",kind="launched",service="api"} 1`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
}
