package dashboard

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"

	"github.com/vmfleet/vmfleet/pkg/dashboard/dashboardtest"
)

// BenchmarkPageUpdate is one change of the fleet, from the daemon
// recording it to the page in chromium showing it: ns/op is how late
// the page is (the stream, the swap, the charts), main-thread-ms/update
// the page's own work for it, which must leave it responsive.
//
//	go test -run '^$' -bench PageUpdate -benchtime 100x ./pkg/dashboard
func BenchmarkPageUpdate(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			f := newFakeFleet(n, 0, 2*n)
			s, err := New(f, Options{Token: testToken, Controls: true})
			if err != nil {
				b.Fatal(err)
			}
			ts := httptest.NewServer(s.Handler())
			defer ts.Close()
			defer close(s.done)
			s.rec.put(time.Now(), buildView(f.Statuses(), f.Metrics(), nil))
			p := dashboardtest.Open(b, ts.URL+"/?token="+testToken)
			ctx := p.Ctx
			p.Until(wait, "the stream connects", `document.querySelector('#conn').dataset.state === 'live'`)
			if _, err := chromedp.Call(ctx, performance.Enable, performance.EnableParams{}); err != nil {
				b.Fatal(err)
			}
			// The page's main-thread time, by what it was spent on.
			busy := func() map[string]float64 {
				m, err := chromedp.Call(ctx, performance.GetMetrics, struct{}{})
				if err != nil {
					b.Fatal(err)
				}
				out := map[string]float64{}
				for _, x := range m.Metrics {
					out[x.Name] = x.Value
				}
				return out
			}
			before := busy()
			b.ResetTimer()
			for i := range b.N {
				f.mu.Lock()
				in := &f.svc.Instances[i%n]
				in.Health = map[string]string{"healthy": "unhealthy", "unhealthy": "healthy"}[in.Health]
				id, want := in.ID, in.Health
				f.mu.Unlock()
				s.rec.put(time.Now().Add(time.Duration(i+1)*time.Second), buildView(f.Statuses(), f.Metrics(), nil))
				p.Until(wait, "the change shown", fmt.Sprintf(`document.querySelector('#tile-%s').dataset.health === %q`, id, want))
			}
			b.StopTimer()
			after := busy()
			for name, unit := range map[string]string{"TaskDuration": "main-thread-ms/update", "ScriptDuration": "script-ms/update",
				"LayoutDuration": "layout-ms/update", "RecalcStyleDuration": "style-ms/update"} {
				b.ReportMetric((after[name]-before[name])*1000/float64(b.N), unit)
			}
		})
	}
}
