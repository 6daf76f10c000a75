// Package dashboardtest drives the dashboard in a real browser, Debian's
// chromium through chromedp, for tests: the page's own tests and the
// end-to-end ones on real fleets.
package dashboardtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/heapprofiler"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Page is one browser tab.
type Page struct {
	t   testing.TB
	Ctx context.Context

	mu   sync.Mutex
	errs []string
}

// Open starts a headless chromium and opens url in it. Without chromium
// the test fails under make test (VMFLEET_INTEGRATION) and is skipped
// otherwise.
func Open(t testing.TB, url string) *Page {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("VMFLEET_INTEGRATION") == "" {
			t.Skip("no chromium here; scripts/setup-host.sh installs it, and make test runs this")
		}
		t.Fatal("chromium is not installed: run scripts/setup-host.sh")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1400, 1000))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	p := &Page{t: t, Ctx: ctx}
	if err := chromedp.Do(ctx); err != nil { // starts the browser and its tab
		t.Fatal(err)
	}
	if err := chromedp.Listen(ctx, p.listen); err != nil {
		t.Fatal(err)
	}
	for _, enable := range []cdp.Command[cdp.Empty, cdp.Empty]{cdplog.Enable, runtime.Enable} {
		if _, err := chromedp.Call(ctx, enable, cdp.Empty{}); err != nil {
			t.Fatal(err)
		}
	}
	if url != "" {
		p.Go(url)
	}
	return p
}

// listen keeps what the console reports as errors; it runs in the tab's
// loop, so it only records.
func (p *Page) listen(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		p.errs = append(p.errs, fmt.Sprintf("exception: %s at %s:%d", msg, d.URL, d.LineNumber))
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError {
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			p.errs = append(p.errs, "console.error: "+strings.Join(parts, " "))
		}
	case *cdplog.EventEntryAdded:
		if e.Entry.Level == cdplog.EntryLevelError {
			p.errs = append(p.errs, "log: "+e.Entry.Text+" "+e.Entry.URL)
		}
	}
}

// ConsoleErrors are the errors the console reported so far.
func (p *Page) ConsoleErrors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errs...)
}

// Go navigates to url.
func (p *Page) Go(url string) {
	p.t.Helper()
	if err := chromedp.Do(p.Ctx, chromedp.Navigate(url)); err != nil {
		p.t.Fatalf("open %s: %v", url, err)
	}
}

// Until waits up to limit for a JavaScript expression to be true.
func (p *Page) Until(limit time.Duration, what, expr string) {
	p.t.Helper()
	_, err := chromedp.Run(p.Ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(limit), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		html, _ := chromedp.Run(p.Ctx, chromedp.OuterHTML(chromedp.CSS("#fleets")))
		acts, _ := chromedp.Run(p.Ctx, chromedp.OuterHTML(chromedp.CSS("#activities")))
		p.t.Fatalf("waiting %s for %s: %v\n#fleets: %.4000s\n#activities: %.3000s", limit, what, err, html, acts)
	}
}

// Click clicks the first element css matches.
func (p *Page) Click(css string) {
	p.t.Helper()
	if err := chromedp.Do(p.Ctx, chromedp.Click(chromedp.CSS(css))); err != nil {
		p.t.Fatalf("click %s: %v", css, err)
	}
}

// Eval evaluates a JavaScript expression into T.
func Eval[T any](p *Page, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.Ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// HeapUsed is the page's JavaScript heap in use after a collection.
func (p *Page) HeapUsed() float64 {
	p.t.Helper()
	if _, err := chromedp.Call(p.Ctx, heapprofiler.CollectGarbage, cdp.Empty{}); err != nil {
		p.t.Fatal(err)
	}
	h, err := chromedp.Call(p.Ctx, runtime.GetHeapUsage, cdp.Empty{})
	if err != nil {
		p.t.Fatal(err)
	}
	return h.UsedSize
}

// Screenshot keeps a PNG of the whole page: in dir when
// VMFLEET_SCREENSHOTS=1 (the README's pictures), else in a temporary
// directory.
func (p *Page) Screenshot(dir, name string) {
	p.t.Helper()
	png, err := chromedp.Run(p.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatal(err)
	}
	if os.Getenv("VMFLEET_SCREENSHOTS") != "1" {
		dir = p.t.TempDir()
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}
