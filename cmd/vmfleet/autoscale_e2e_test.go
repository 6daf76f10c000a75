package main

// Target tracking on real VMs: load through the balancer scales a group
// out, and when the load stops it returns to its minimum; every step is
// in the events and in /metrics.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// writeScaled writes fleet "auto": one service at time scale 0.05 (a
// datapoint is 3 s) with the given scaling block.
func writeScaled(t *testing.T, port int, scaling string) string {
	t.Helper()
	yaml := fmt.Sprintf(`name: auto
time_scale: 0.05
services:
  api:
    image: {binary: %s}
    command: ["/app/hello", "-listen", ":8080"]
    port: 8080
    cpu: 0.5
    memory: 128MiB
    balancer: {listen: 127.0.0.1:%d, deregistration_delay: 20s}
    scaling:
%s`, bin("hello"), port, scaling)
	p := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// hammer sends requests to url from n workers until stopped, at most for
// limit and at most max requests: bounded whatever happens.
type hammer struct {
	stop    chan struct{}
	wg      sync.WaitGroup
	ok, bad atomic.Int64
}

func startHammer(url string, n int, limit time.Duration, max int64) *hammer {
	h := &hammer{stop: make(chan struct{})}
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for range n {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			for time.Now().Before(deadline) && h.ok.Load()+h.bad.Load() < max {
				select {
				case <-h.stop:
					return
				default:
				}
				resp, err := client.Get(url)
				if err != nil {
					h.bad.Add(1)
					time.Sleep(10 * time.Millisecond)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				h.ok.Add(1)
			}
		}()
	}
	return h
}

func (h *hammer) finish() (ok, bad int64) {
	close(h.stop)
	h.wg.Wait()
	return h.ok.Load(), h.bad.Load()
}

// desired reads the group's desired capacity from /metrics, as Prometheus
// would scrape it.
func desiredFromMetrics(t *testing.T, e *testEnv) int {
	t.Helper()
	var info struct {
		MetricsURL string `json:"metrics_url"`
	}
	jsonDecode(t, e.must("info", "--json"), &info)
	resp, err := http.Get(info.MetricsURL)
	if err != nil {
		t.Fatalf("scrape %s: %v", info.MetricsURL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^vmfleet_group_desired_capacity\{fleet="auto",service="api"\} (\d+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no vmfleet_group_desired_capacity for auto/api in /metrics:\n%.2000s", b)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

func groupOf(t *testing.T, e *testEnv) (desired, inService int) {
	var list []struct {
		Name     string
		Services []struct {
			Name      string
			Desired   int
			InService int `json:"in_service"`
		}
	}
	json.Unmarshal([]byte(e.must("ls", "--json")), &list)
	for _, f := range list {
		if f.Name == "auto" && len(f.Services) == 1 {
			return f.Services[0].Desired, f.Services[0].InService
		}
	}
	return -1, -1
}

type event struct {
	ID       int64
	Time     time.Time
	Service  string
	Instance string
	Kind     string
	Message  string
}

func events(t *testing.T, e *testEnv, fleet string) []event {
	t.Helper()
	var out []event
	for _, line := range strings.Split(strings.TrimSpace(e.must("events", "--fleet", fleet, "--json")), "\n") {
		var ev event
		if json.Unmarshal([]byte(line), &ev) == nil {
			out = append(out, ev)
		}
	}
	return out
}

// loadFunc starts a load and returns what stops it and says how it went.
type loadFunc func() (stop func() string)

// hammering is a load from the test itself.
func hammering(url string, workers int) loadFunc {
	return func() func() string {
		h := startHammer(url, workers, 4*time.Minute, 200000)
		return func() string {
			ok, bad := h.finish()
			return fmt.Sprintf("%d requests answered, %d failed", ok, bad)
		}
	}
}

// scaleOutAndBack drives one policy through its whole cycle.
func scaleOutAndBack(t *testing.T, e *testEnv, load loadFunc, want int, metric string) {
	scaleOut(t, e, load, want, metric)
	scaleBack(t, e, metric)
}

// scaleOut puts a load on the group until its policy has scaled it out
// to want in service, and checks the activity says so as AWS would.
func scaleOut(t *testing.T, e *testEnv, load loadFunc, want int, metric string) {
	before := time.Now()
	stop := load()
	e.waitFor("the group to scale out", 4*time.Minute, func() bool {
		d, in := groupOf(t, e)
		return d >= want && in >= want
	})
	t.Logf("load: %s", stop())
	if d := desiredFromMetrics(t, e); d < want {
		t.Errorf("/metrics says desired %d at the peak, want >= %d", d, want)
	}
	evs := events(t, e, "auto")
	var alarm, launched, healthy time.Time
	var first string
	for _, ev := range evs {
		switch {
		case ev.Time.Before(before):
		case alarm.IsZero() && ev.Kind == "autoscaling":
			alarm = ev.Time
			if !strings.Contains(ev.Message, "a monitor alarm TargetTracking-auto-api-AlarmHigh-"+metric+" in state ALARM triggered policy "+metric) ||
				!regexp.MustCompile(`changing the desired capacity from \d+ to \d+\.$`).MatchString(ev.Message) {
				t.Errorf("the scale-out's cause does not read like AWS's: %q", ev.Message)
			}
		case !alarm.IsZero() && first == "" && ev.Kind == "launched":
			launched, first = ev.Time, ev.Instance
		case first != "" && ev.Kind == "healthy" && ev.Instance == first:
			healthy = ev.Time
		}
	}
	if alarm.IsZero() || healthy.IsZero() {
		t.Fatalf("no scale-out activity with a new instance in service in the events:\n%s", e.must("events", "--fleet", "auto"))
	}
	t.Logf("from the load starting to the first new instance in service: %s (alarm after %s, launch %s, boot and health checks %s)",
		healthy.Sub(before).Round(100*time.Millisecond), alarm.Sub(before).Round(100*time.Millisecond),
		launched.Sub(alarm).Round(100*time.Millisecond), healthy.Sub(launched).Round(100*time.Millisecond))
}

// scaleBack waits, with no load, for the policy to take the group back
// to its minimum: 15 datapoints (45 s here) below 90% of the target.
func scaleBack(t *testing.T, e *testEnv, metric string) {
	e.waitFor("the group back at min", 4*time.Minute, func() bool {
		d, in := groupOf(t, e)
		return d == 1 && in == 1 && len(e.ps("auto")) == 1
	})
	if d := desiredFromMetrics(t, e); d != 1 {
		t.Errorf("/metrics says desired %d after the scale-in, want 1", d)
	}
	in := false
	for _, ev := range events(t, e, "auto") {
		if ev.Kind == "autoscaling" && strings.Contains(ev.Message, "AlarmLow-"+metric+" in state ALARM") && strings.Contains(ev.Message, "to 1.") {
			in = true
		}
	}
	if !in {
		t.Errorf("no scale-in activity to 1 in the events:\n%s", e.must("events", "--fleet", "auto"))
	}
}

func TestACPUBoundLoadScalesAGroupOutAndItReturnsToMinAfter(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	port := freePort(t)
	file := writeScaled(t, port, `      min: 1
      max: 4
      instance_warmup: 60s
      target_tracking: [{metric: cpu_utilization, target: 50}]
`)
	e.must("up", "-f", file, "-d", "--wait-timeout", "3m")
	scaleOutAndBack(t, e, hammering(fmt.Sprintf("http://127.0.0.1:%d/burn?ms=200", port), 3), 3, "cpu_utilization")
}
