package dashboard

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/dashboard/dashboardtest"
)

// The page in a real browser: Debian's chromium, driven by chromedp.

// wait bounds each wait for the page to show a change of the fake fleet.
const wait = 30 * time.Second

// stepping moves the fake fleet a step every interval, as a controller
// would, until the test ends.
func stepping(t *testing.T, f *fakeFleet, every time.Duration) {
	ticking(t, every, func(context.Context) { f.step() })
}

// ticking calls do every interval until the test ends.
func ticking(t *testing.T, every time.Duration, do func(context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				do(ctx)
			}
		}
	}()
}

func TestInABrowserTheControlsScaleOutAndAKillIsReplacedWithItsCause(t *testing.T) {
	f := newFakeFleet(2, 1, 5)
	_, ts := served(t, f, Options{Controls: true})
	stepping(t, f, 700*time.Millisecond)
	p := dashboardtest.Open(t, ts.URL+"/?token="+testToken)
	p.Until(wait, "the stream connects", `document.querySelector('#conn').dataset.state === 'live'`)
	p.Until(wait, "two tiles in service", `document.querySelectorAll('.tile.inservice').length === 2`)
	p.Until(wait, "a chart per service", `document.querySelectorAll('#charts .chart canvas').length === 2`)

	// Scale out from the page: the new tile comes Pending, then InService.
	p.Click(".scale-out")
	p.Until(wait, "a new tile, pending", `document.querySelectorAll('.tile.pending').length === 1`)
	p.Until(wait, "three tiles in service", `document.querySelectorAll('.tile.inservice').length === 3`)

	// Kill one from the page: it goes red, a replacement comes, and the
	// activity list says the fault was injected.
	victim := f.Statuses()[0].Services[0].Instances[0].ID
	p.Click(`#tile-` + victim + ` button[title^="kill"]`)
	p.Until(wait, "the killed tile turns red", `document.querySelector('#tile-`+victim+`.terminating') !== null`)
	p.Until(wait, "its replacement in service", `!document.querySelector('#tile-`+victim+`') && document.querySelectorAll('.tile.inservice').length === 3`)
	p.Until(wait, "the cause in the activity list", `[...document.querySelectorAll('#activities .ev')].some(e => e.textContent.includes('`+victim+`') && e.textContent.includes('injected'))`)

	// A tile opens its instance: identity and console.
	p.Click(".tile.inservice")
	p.Until(wait, "the instance panel", `(document.querySelector('#detail .console')||{}).textContent?.includes('listening on')`)
	p.Screenshot("../../docs", "dashboard-fake.png")

	// Every fault, from the page: the instance's in its panel, the host's
	// in the header.
	p.Click(`#detail button[value="cpu"]`)
	p.Click(`.ctl.host button`)
	p.Until(wait, "both faults said done", `[...document.querySelectorAll('#flash p.done')].length > 0`)
	deadline := time.Now().Add(wait)
	for !f.hasFaults(api.FaultRequest{Action: api.FaultCPU, Seconds: 30}, api.FaultRequest{Action: api.FaultLibvirtd, Seconds: 10}) {
		if time.Now().After(deadline) {
			t.Fatalf("faults injected %+v, want cpu for 30 s and libvirtd for 10 s", f.faults)
		}
		time.Sleep(50 * time.Millisecond)
	}

	if errs := p.ConsoleErrors(); len(errs) > 0 {
		t.Fatalf("the console reported errors:\n%s", strings.Join(errs, "\n"))
	}
}

func TestInABrowserTheStreamLosesNoEventAcrossARestart(t *testing.T) {
	f := newFakeFleet(1, 1, 3)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	start := func(ln net.Listener) func() {
		s, err := New(f, Options{Token: testToken})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		go s.Run(ctx)
		srv := &http.Server{Handler: s.Handler()}
		go srv.Serve(ln)
		return func() { cancel(); <-s.done; srv.Close() }
	}
	stop := start(ln)
	f.Emit("scaled", "before")
	p := dashboardtest.Open(t, "http://"+addr+"/?token="+testToken)
	p.Until(wait, "the stream connects", `document.querySelector('#conn').dataset.state === 'live'`)
	f.Emit("scaled", "connected")
	p.Until(wait, "the event while connected", `document.querySelector('#activities').textContent.includes('connected')`)

	stop() // the daemon goes away
	p.Until(wait, "the page sees it gone", `document.querySelector('#conn').dataset.state === 'reconnecting'`)
	for i := range 3 {
		f.Emit("scaled", fmt.Sprintf("while-down-%d", i))
	}
	time.Sleep(1500 * time.Millisecond) // the browser retries meanwhile
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer start(ln2)()
	f.Emit("scaled", "after")
	p.Until(wait, "the page reconnects", `document.querySelector('#conn').dataset.state === 'live'`)
	p.Until(wait, "the newest event", `document.querySelector('#activities').textContent.includes('after')`)
	causes := dashboardtest.Eval[[]string](p, `[...document.querySelectorAll('#activities .cause')].map(e => e.textContent).reverse()`)
	want := "before connected while-down-0 while-down-1 while-down-2 after"
	if got := strings.Join(causes, " "); got != want {
		t.Fatalf("activities %q, want %q: each once, none lost", got, want)
	}
}

// A page left open on a projector must not grow: with its activity list
// and charts full from the start, a fleet scaling in and out every few
// seconds for ten minutes (make test; a shorter run otherwise) leaves
// its JavaScript heap, after a collection, within 20 % of where it was
// once the page settled.
func TestInABrowserThePagesHeapStaysFlatWhileTheFleetChanges(t *testing.T) {
	run := 30 * time.Second
	if os.Getenv("VMFLEET_INTEGRATION") != "" {
		run = 10 * time.Minute
	}
	f := newFakeFleet(2, 1, 6)
	for i := range 2 * activitiesShown {
		f.Emit("scaled", fmt.Sprintf("earlier %d", i))
	}
	_, ts := served(t, f, Options{Controls: true})
	stepping(t, f, 700*time.Millisecond)
	flipping(t, f, 3*time.Second, 2, 6)
	p := dashboardtest.Open(t, ts.URL+"/?token="+testToken)
	p.Until(wait, "the stream connects", `document.querySelector('#conn').dataset.state === 'live'`)
	settle := run / 10
	time.Sleep(settle)
	base := p.HeapUsed()
	time.Sleep(run - settle)
	end := p.HeapUsed()
	t.Logf("JS heap after %s: %.2f MB; after %s: %.2f MB (%+.1f %%)", settle, base/1e6, run, end/1e6, 100*(end-base)/base)
	if end > 1.2*base {
		t.Fatalf("the heap grew from %.2f MB to %.2f MB in %s", base/1e6, end/1e6, run-settle)
	}
	if errs := p.ConsoleErrors(); len(errs) > 0 {
		t.Fatalf("the console reported errors:\n%s", strings.Join(errs, "\n"))
	}
}

// flipping scales the fake fleet between a and b every interval until
// the test ends.
func flipping(t *testing.T, f *fakeFleet, every time.Duration, a, b int) {
	n := a
	ticking(t, every, func(ctx context.Context) {
		n = a + b - n
		f.Scale(ctx, "demo", map[string]int{"web": n})
	})
}

// The rewind slider shows the state recorded then, with the controls
// hidden, and the live state again at 0.
func TestInABrowserTheRewindShowsTheStateRecordedThen(t *testing.T) {
	f := newFakeFleet(1, 1, 4)
	s, err := New(f, Options{Token: testToken, Controls: true}) // recorded by hand, not Run
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { close(s.done); ts.Close() })
	now := time.Now()
	s.rec.put(now.Add(-time.Minute), buildView(f.Statuses(), f.Metrics(), nil))
	f.Scale(context.Background(), "demo", map[string]int{"web": 3})
	f.step()
	s.rec.put(now, buildView(f.Statuses(), f.Metrics(), nil))

	p := dashboardtest.Open(t, ts.URL+"/?token="+testToken)
	p.Until(wait, "the live state", `document.querySelectorAll('.tile').length === 3`)
	slide := func(v int) {
		dashboardtest.Eval[bool](p, fmt.Sprintf(`(() => { const r = document.getElementById('rewind'); r.value = %d; r.dispatchEvent(new Event('input')); return true })()`, v))
	}
	slide(-30)
	p.Until(wait, "the state of a minute ago", `document.body.classList.contains('rewinding') && document.querySelectorAll('.tile').length === 1 && document.getElementById('rewind-at').textContent.startsWith('−30 s')`)
	if visible := dashboardtest.Eval[bool](p, `document.querySelector('.scale-out').offsetParent !== null`); visible {
		t.Error("the controls show while rewound")
	}
	slide(0)
	p.Until(wait, "live again", `!document.body.classList.contains('rewinding') && document.querySelectorAll('.tile').length === 3`)
	if errs := p.ConsoleErrors(); len(errs) > 0 {
		t.Fatalf("the console reported errors:\n%s", strings.Join(errs, "\n"))
	}
}
