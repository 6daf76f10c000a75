package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/topview"
)

// These tests need no daemon: a bad flag or argument is refused before
// one is asked for, and --once is driven with a fetch of a made-up sample.

func TestTopRefusesABadIntervalOrASecondServiceInOneLine(t *testing.T) {
	// A home that cannot be made, so that a check that came after
	// ensureDaemon would fail with the home's error instead of starting a
	// daemon.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(file, "home")
	for _, tc := range []struct{ args, want []string }{
		{[]string{"top", "--interval", "0s"}, []string{"--interval 0s", "positive duration"}},
		{[]string{"top", "--interval", "-1s", "--once"}, []string{"--interval -1s"}},
		{[]string{"top", "api", "web"}, []string{"at most one service", "vmfleet top shop/web"}},
	} {
		args := append([]string{"vmfleet", "--home", home}, tc.args...)
		err := newApp().RunContext(context.Background(), interspersed(newApp(), args))
		if err == nil {
			t.Errorf("%q: no error", tc.args)
			continue
		}
		msg := oneLine(err)
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%q: error %q does not say %q", tc.args, msg, w)
			}
		}
		if exitCode(err) != 2 || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: exit %d with %q, want bad input (2) in one line", tc.args, exitCode(err), err)
		}
	}
}

func TestTopOncePrintsOneSampleAsLines(t *testing.T) {
	m := api.Metrics{Time: time.Date(2026, 11, 1, 2, 41, 7, 0, time.Local), Services: []api.ServiceMetrics{
		{Fleet: "shop", Service: "api", Desired: 1, InService: 1, Instances: []api.InstanceMetrics{{ID: "i-1", Phase: api.InService, Health: "healthy", CPUCap: 1}}},
		{Fleet: "shop", Service: "web", Desired: 1},
	}}
	calls := 0
	fetch := func(context.Context) (api.Metrics, error) { calls++; return m, nil }
	var out strings.Builder
	if err := topOnce(context.Background(), &out, topview.Config{Fetch: fetch, Service: "api", Interval: time.Second}); err != nil {
		t.Fatal(err)
	}
	want := "02:41:07 shop/api desired=1 in_service=1 pending=0 draining=0 cpu=0.0% conn_rate=0.0/s active=0 min=0 max=0\n" +
		"02:41:07 shop/api i-1 phase=InService health=healthy cpu=0.0% cap=1 rss=- limit=- net_in=0B/s net_out=0B/s conn_rate=0.0/s active=0\n"
	if out.String() != want || calls != 1 {
		t.Errorf("--once fetched %d times and printed\n%s\nwant once and\n%s", calls, out.String(), want)
	}
}

func TestTopOnceRefusesAServiceThatIsNotThere(t *testing.T) {
	fetch := func(context.Context) (api.Metrics, error) {
		return api.Metrics{Services: []api.ServiceMetrics{{Fleet: "shop", Service: "api"}}}, nil
	}
	var out strings.Builder
	err := topOnce(context.Background(), &out, topview.Config{Fetch: fetch, Service: "shop/apu", Interval: time.Second})
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), `no service "shop/apu"; vmfleet ls lists`) {
		t.Errorf("top --once shop/apu: %v (exit %d), want bad input naming the service", err, exitCode(err))
	}
	if out.Len() != 0 {
		t.Errorf("printed %q for a service that is not there", out.String())
	}
}

func TestTopOnceFailsWhenTheDaemonDoesNotAnswer(t *testing.T) {
	gone := errors.New("no vmfleet daemon is running")
	fetch := func(context.Context) (api.Metrics, error) { return api.Metrics{}, gone }
	err := topOnce(context.Background(), &strings.Builder{}, topview.Config{Fetch: fetch, Interval: time.Second})
	if !errors.Is(err, gone) || exitCode(err) != 1 {
		t.Errorf("top --once without a daemon: %v (exit %d), want the failure, exit 1", err, exitCode(err))
	}
}
