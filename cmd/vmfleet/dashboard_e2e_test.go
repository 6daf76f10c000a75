package main

// The dashboard on a real fleet, in chromium: a scale-out from the page,
// a kill from the page and its replacement with the cause, the stream
// across a daemon restart with no event lost, and a load from the page
// that scales a request-count policy out, drawn on the chart.

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/dashboard/dashboardtest"
)

func TestTheDashboardScalesKillsAndLoadsARealFleet(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	e.env = append(e.env, "VMFLEET_DASHBOARD_CONTROLS=1", fmt.Sprintf("VMFLEET_DASHBOARD_LISTEN=127.0.0.1:%d", freePort(t)))
	port := freePort(t)
	// 120 requests per target per minute of AWS time: 40 a second at this
	// time scale.
	file := writeScaled(t, port, `      min: 1
      max: 3
      instance_warmup: 60s
      target_tracking: [{metric: request_count_per_target, target: 120}]
`)
	e.must("up", "-f", file, "-d", "--wait-timeout", "3m")
	url := strings.TrimSpace(e.must("dashboard", "--no-open"))
	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.Contains(url, "?token=") {
		t.Fatalf("vmfleet dashboard printed %q, want a 127.0.0.1 URL with its token", url)
	}
	p := dashboardtest.Open(t, url)
	group := `.group[data-key="auto/api"]`
	inService := `document.querySelectorAll('` + group + ` .tile.inservice').length`
	p.Until(time.Minute, "the page live with the instance in service", `document.querySelector('#conn').dataset.state === 'live' && `+inService+` === 1`)

	// Scale out from the page: a new tile comes, Pending, then InService.
	p.Click(group + ` .scale-out`)
	p.Until(time.Minute, "a new tile", `document.querySelectorAll('`+group+` .tile').length === 2`)
	p.Until(3*time.Minute, "two tiles in service", inService+` === 2`)

	// Kill one from the page: it goes red (watched through every swap),
	// a replacement comes, and the activity list gives the cause.
	victim := dashboardtest.Eval[string](p, `document.querySelector('`+group+` .tile.inservice').dataset.id`)
	dashboardtest.Eval[bool](p, `(() => {
		window.victimClasses = new Set();
		new MutationObserver(() => {
			const el = document.getElementById('tile-`+victim+`');
			if (el) el.classList.forEach(c => window.victimClasses.add(c));
		}).observe(document.getElementById('fleets'), {subtree: true, childList: true, attributes: true});
		return true;
	})()`)
	p.Click(`#tile-` + victim + ` button[title^="kill"]`)
	p.Until(time.Minute, "the killed instance red", `['terminating', 'terminated', 'health-unhealthy'].some(c => window.victimClasses.has(c))`)
	p.Until(3*time.Minute, "its replacement in service", `!document.getElementById('tile-`+victim+`') && `+inService+` === 2`)
	p.Until(30*time.Second, "the cause in the activity list",
		`[...document.querySelectorAll('#activities .ev')].some(e => e.textContent.includes('`+victim+`') && e.textContent.includes('injected'))`)

	// A daemon restart: the page reconnects and shows every event the
	// daemon has, each once.
	first := dashboardtest.Eval[[]string](p, `[...document.querySelectorAll('#activities .ev')].map(e => e.dataset.id)`)
	errsBefore := p.ConsoleErrors()
	e.must("daemon", "stop")
	p.Until(30*time.Second, "the page sees the daemon gone", `document.querySelector('#conn').dataset.state === 'reconnecting'`)
	e.must("ls")
	p.Until(time.Minute, "the page back", `document.querySelector('#conn').dataset.state === 'live'`)
	errsRestart := p.ConsoleErrors() // the refused reconnections are the browser's to report
	evs := events(t, e, "auto")
	newest := strconv.FormatInt(evs[len(evs)-1].ID, 10)
	p.Until(30*time.Second, "the newest event", `!!document.querySelector('#activities .ev[data-id="`+newest+`"]')`)
	shown := dashboardtest.Eval[[]string](p, `[...document.querySelectorAll('#activities .ev')].map(e => e.dataset.id)`)
	oldest, _ := strconv.ParseInt(first[len(first)-1], 10, 64)
	for _, ev := range events(t, e, "auto") {
		id := strconv.FormatInt(ev.ID, 10)
		if ev.ID >= oldest && !slices.Contains(shown, id) {
			t.Errorf("the page lacks event %d (%s %s: %s)", ev.ID, ev.Kind, ev.Instance, ev.Message)
		}
	}
	slices.Sort(shown)
	if len(slices.Compact(slices.Clone(shown))) != len(shown) {
		t.Errorf("the page lists an event twice: %v", shown)
	}

	// Load from the page's slider scales the group out, and the chart
	// draws it.
	fromPage := func() func() string {
		dashboardtest.Eval[bool](p, `(() => {
			const r = document.getElementById('load-rate');
			r.value = 150; r.dispatchEvent(new Event('input'));
			return true;
		})()`)
		p.Click("#load-start")
		p.Until(30*time.Second, "the load running", `!!document.querySelector('`+group+` .loadrep.running')`)
		return func() string {
			p.Until(30*time.Second, "the chart at 3", `Number((document.querySelector('.chart[data-key="auto/api"]') || {dataset: {}}).dataset.desiredMax) >= 3`)
			p.Screenshot("../../docs", "dashboard.png")
			report := dashboardtest.Eval[string](p, `document.querySelector('`+group+` .loadrep').textContent`)
			p.Click("#load-stop")
			p.Until(30*time.Second, "the load stopped", `!document.querySelector('`+group+` .loadrep.running')`)
			return report
		}
	}
	// The way back to min is the CPU test's (the same alarm logic).
	scaleOut(t, e, fromPage, 3, "request_count_per_target")
	if errs := append(errsBefore, p.ConsoleErrors()[len(errsRestart):]...); len(errs) > 0 {
		t.Errorf("the console reported errors:\n%s", strings.Join(errs, "\n"))
	}
}
