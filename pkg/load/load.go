// Package load sends bounded load to a service's balancer: HTTP requests
// or TCP connections, at a rate, a few at once, for a time, to an address
// on loopback only, and reports what it saw as it goes. Enough to drive
// target tracking in a demo; not a benchmark tool.
package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/vmfleet/vmfleet/pkg/limits"
)

// What one unit of load is.
const (
	// HTTP is a GET of the path on a connection of its own: the balancer
	// picks a target per connection, so each request may meet another.
	HTTP = "http"
	// TCP is a connection opened and closed, for a service that speaks
	// something else.
	TCP = "tcp"
)

// Loopback is where a load on this host reaches a listener at listen: a
// balancer listening on every address answers on 127.0.0.1 too.
func Loopback(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err == nil && net.ParseIP(host).IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return listen
}

// Options bound a load.
type Options struct {
	Addr        string // host:port, on loopback
	Mode        string // HTTP (the default) or TCP
	Path        string // for HTTP; default "/"
	Rate        float64
	For         time.Duration
	Concurrency int // at most this many in flight; default 1
}

// Check validates o and fills its defaults; its errors say what to give.
func (o *Options) Check() error {
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return fmt.Errorf("load: %q is not HOST:PORT", o.Addr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("load: %s is not on loopback; vmfleet sends load only to 127.0.0.0/8 or ::1", o.Addr)
	}
	if o.Mode == "" {
		o.Mode = HTTP
	}
	if o.Mode != HTTP && o.Mode != TCP {
		return fmt.Errorf("load: mode %q is neither %s nor %s", o.Mode, HTTP, TCP)
	}
	if o.Path == "" {
		o.Path = "/"
	}
	if o.Concurrency == 0 {
		o.Concurrency = 1
	}
	switch {
	case o.Rate <= 0 || o.Rate > limits.MaxLoadRate:
		return fmt.Errorf("load: a rate of %g/s is not above 0 and at most %d/s", o.Rate, limits.MaxLoadRate)
	case o.For <= 0 || o.For > limits.MaxLoadDuration:
		return fmt.Errorf("load: a duration of %s is not above 0 and at most %s", o.For, limits.MaxLoadDuration)
	case o.Concurrency < 1 || o.Concurrency > limits.MaxLoadConcurrency:
		return fmt.Errorf("load: a concurrency of %d is not from 1 to %d", o.Concurrency, limits.MaxLoadConcurrency)
	}
	return nil
}

// Report is what a load saw so far.
type Report struct {
	Sent    int           `json:"sent"`
	Failed  int           `json:"failed"`
	Elapsed time.Duration `json:"elapsed_ns"`
	// PerSecond is the rate achieved: what was sent over the time taken.
	PerSecond float64 `json:"per_second"`
	// Latency percentiles of the units that succeeded.
	P50 time.Duration `json:"p50_ns"`
	P90 time.Duration `json:"p90_ns"`
	P99 time.Duration `json:"p99_ns"`
	Max time.Duration `json:"max_ns"`
	// LastError is the latest failure's, for a user to see why.
	LastError string `json:"last_error,omitempty"`
}

func (r Report) String() string {
	s := fmt.Sprintf("%d sent in %.1fs (%.1f/s), %d failed; latency p50 %s, p90 %s, p99 %s, max %s",
		r.Sent, r.Elapsed.Seconds(), r.PerSecond, r.Failed, ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max))
	if r.LastError != "" {
		s += "; last error: " + r.LastError
	}
	return s
}

func ms(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }

// Run sends the load o describes until its time is up or ctx ends, calls
// progress with the report so far every interval (if both are set), and
// returns the last report. Nothing runs after it returns.
func Run(ctx context.Context, o Options, every time.Duration, progress func(Report)) (Report, error) {
	if err := o.Check(); err != nil {
		return Report{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.For)
	defer cancel()
	rec := &recorder{start: time.Now()}
	hit := hitter(o)
	work := make(chan struct{})
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				began := time.Now()
				err := hit(ctx)
				rec.add(time.Since(began), err)
			}
		}()
	}
	if every > 0 && progress != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					progress(rec.report())
				}
			}
		}()
	}
	// One token at a time: the rate is kept evenly, never in bursts.
	lim := rate.NewLimiter(rate.Limit(o.Rate), 1)
	for lim.Wait(ctx) == nil {
		select {
		case work <- struct{}{}:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	return rec.report(), nil
}

// hitter is one unit of the load: an error when it failed.
func hitter(o Options) func(context.Context) error {
	if o.Mode == TCP {
		var d net.Dialer
		return func(ctx context.Context) error {
			c, err := d.DialContext(ctx, "tcp", o.Addr)
			if err != nil {
				return err
			}
			return c.Close()
		}
	}
	client := &http.Client{Timeout: limits.MaxLoadWait, Transport: &http.Transport{DisableKeepAlives: true}}
	url := "http://" + o.Addr + o.Path
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode >= 500 {
			return fmt.Errorf("%s answered %s", url, resp.Status)
		}
		return nil
	}
}

// recorder keeps what the workers saw.
type recorder struct {
	start time.Time
	mu    sync.Mutex
	lat   []time.Duration
	sent  int
	fail  int
	last  error
}

func (r *recorder) add(d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent++
	switch {
	case err == nil:
		r.lat = append(r.lat, d)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		r.sent-- // cut short by the load's own end: not sent, not failed
	default:
		r.fail++
		r.last = err
	}
}

func (r *recorder) report() Report {
	r.mu.Lock()
	lat := slices.Clone(r.lat)
	rep := Report{Sent: r.sent, Failed: r.fail, Elapsed: time.Since(r.start)}
	if r.last != nil {
		rep.LastError = r.last.Error()
	}
	r.mu.Unlock()
	if s := rep.Elapsed.Seconds(); s > 0 {
		rep.PerSecond = float64(rep.Sent) / s
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		at := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
		rep.P50, rep.P90, rep.P99, rep.Max = at(0.50), at(0.90), at(0.99), lat[len(lat)-1]
	}
	return rep
}
