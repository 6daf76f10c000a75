package dashboard

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

// What open pages cost the daemon. The fleet's metrics change every
// second, so a page gets about one update a second; Run samples the
// fleet four times a second whether pages are open or not.
//
//	go test -run '^$' -bench . -benchtime 200x ./pkg/dashboard
//
// core-%/update is the CPU one update to every open page costs, as a share
// of one core if it came once a second.

func BenchmarkUpdateToOpenPages(b *testing.B) {
	for _, c := range []struct{ pages, instances int }{{1, 20}, {10, 20}, {10, 100}} {
		b.Run(fmt.Sprintf("pages=%d/instances=%d", c.pages, c.instances), func(b *testing.B) {
			f := newFakeFleet(c.instances, 0, 2*c.instances)
			s, err := New(f, Options{Token: testToken})
			if err != nil {
				b.Fatal(err)
			}
			close(s.done) // no Run: the benchmark records each change itself
			s.done = make(chan struct{})
			srv := newBenchServer(b, s)
			got := make(chan struct{}, c.pages)
			for range c.pages {
				go srv.follow(b, got)
			}
			put := func(i int) {
				f.mu.Lock()
				in := &f.svc.Instances[i%c.instances] // a change every time
				in.Health = map[string]string{"healthy": "unhealthy", "unhealthy": "healthy"}[in.Health]
				f.mu.Unlock()
				s.rec.put(time.Now().Add(time.Duration(i)*time.Second), buildView(f.Statuses(), f.Metrics(), nil))
			}
			put(0)
			for range c.pages { // every page connected and served once
				<-got
			}
			cpu := cpuTime()
			b.ResetTimer()
			for i := range b.N {
				put(i + 1)
				for range c.pages {
					<-got
				}
			}
			b.StopTimer()
			perUpdate := float64(cpuTime()-cpu) / float64(b.N)
			b.ReportMetric(perUpdate, "cpu-ns/update")
			b.ReportMetric(100*perUpdate/float64(time.Second), "core-%/update")
			close(s.done)
		})
	}
}

// BenchmarkSample is Run's work every sampleEvery with no page open:
// read the fleet, build the view, compare it with the last.
func BenchmarkSample(b *testing.B) {
	for _, n := range []int{20, 100} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			f := newFakeFleet(n, 0, 2*n)
			rec := newRecorder(rewindWindow)
			now := time.Now()
			cpu := cpuTime()
			for i := range b.N {
				rec.put(now.Add(time.Duration(i)*sampleEvery), buildView(f.Statuses(), f.Metrics(), nil))
			}
			perSample := float64(cpuTime()-cpu) / float64(b.N)
			b.ReportMetric(100*perSample*float64(time.Second/sampleEvery)/float64(time.Second), "core-%")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type benchServer struct {
	url    string
	client *http.Client
	ctx    context.Context
}

func newBenchServer(b *testing.B, s *Server) benchServer {
	ts := httptest.NewServer(s.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(func() { cancel(); ts.Close() })
	c := &http.Client{}
	return benchServer{url: ts.URL, client: c, ctx: ctx}
}

// follow reads a page's stream and says each time the fleets arrive.
func (bs benchServer) follow(b *testing.B, got chan<- struct{}) {
	req, _ := http.NewRequestWithContext(bs.ctx, "GET", bs.url+"/events", nil)
	req.AddCookie(&http.Cookie{Name: cookieName, Value: newAuth(testToken).session})
	resp, err := bs.client.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		if strings.HasPrefix(line, "event: fleets") {
			got <- struct{}{}
		}
	}
}
