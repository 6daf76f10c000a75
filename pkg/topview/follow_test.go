package topview

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// script answers each fetch with the next of its answers, and ends the
// context after the last.
type script struct {
	answers []any // api.Metrics or error
	cancel  context.CancelFunc
}

func (s *script) fetch(context.Context) (api.Metrics, error) {
	if len(s.answers) == 0 {
		s.cancel()
		return api.Metrics{}, context.Canceled
	}
	a := s.answers[0]
	s.answers = s.answers[1:]
	if err, ok := a.(error); ok {
		return api.Metrics{}, err
	}
	return a.(api.Metrics), nil
}

func sample(t time.Time, ids ...string) api.Metrics {
	s := api.ServiceMetrics{Fleet: "shop", Service: "api", Desired: len(ids), InService: len(ids)}
	for _, id := range ids {
		s.Instances = append(s.Instances, api.InstanceMetrics{ID: id, Phase: api.InService, Health: "healthy", CPUCap: 1})
	}
	return api.Metrics{Time: t, Services: []api.ServiceMetrics{s}}
}

func TestTopLineModeGoesOnThroughFailuresAndSaysEachOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gone := errors.New("no vmfleet daemon is running")
	s := &script{cancel: cancel, answers: []any{
		sample(at, "i-1"),
		sample(at, "i-1"), // the daemon's second has not moved on: not printed again
		gone, gone,        // said once
		errors.New("GET /metrics: context deadline exceeded"),
		sample(at.Add(2*time.Second), "i-1", "i-2"),
		gone, // said again: it is news after a sample
	}}
	var out, errs strings.Builder
	if err := Follow(ctx, &out, &errs, Config{Fetch: s.fetch, Interval: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	wantOut := strings.Join([]string{
		"02:41:07 shop/api desired=1 in_service=1 pending=0 draining=0 cpu=0.0% conn_rate=0.0/s active=0 min=0 max=0",
		"02:41:07 shop/api i-1 phase=InService health=healthy cpu=0.0% cap=1 rss=- limit=- net_in=0B/s net_out=0B/s conn_rate=0.0/s active=0",
		"02:41:09 shop/api desired=2 in_service=2 pending=0 draining=0 cpu=0.0% conn_rate=0.0/s active=0 min=0 max=0",
		"02:41:09 shop/api i-1 phase=InService health=healthy cpu=0.0% cap=1 rss=- limit=- net_in=0B/s net_out=0B/s conn_rate=0.0/s active=0",
		"02:41:09 shop/api i-2 phase=InService health=healthy cpu=0.0% cap=1 rss=- limit=- net_in=0B/s net_out=0B/s conn_rate=0.0/s active=0",
	}, "\n") + "\n"
	if out.String() != wantOut {
		t.Errorf("stdout =\n%s\nwant\n%s", out.String(), wantOut)
	}
	wantErr := "vmfleet: top: no vmfleet daemon is running; retrying every 1ms\n" +
		"vmfleet: top: GET /metrics: context deadline exceeded; retrying every 1ms\n" +
		"vmfleet: top: no vmfleet daemon is running; retrying every 1ms\n"
	if errs.String() != wantErr {
		t.Errorf("stderr =\n%s\nwant\n%s", errs.String(), wantErr)
	}
}

func TestTopLineModeSaysOnceThatTheServiceIsNotThere(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &script{cancel: cancel, answers: []any{
		sample(at, "i-1"), sample(at.Add(time.Second), "i-1"),
	}}
	var out, errs strings.Builder
	if err := Follow(ctx, &out, &errs, Config{Fetch: s.fetch, Service: "web", Interval: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "" {
		t.Errorf("printed samples of another service:\n%s", out.String())
	}
	if want := "vmfleet: top: no service matches \"web\" yet (vmfleet ls lists them)\n"; errs.String() != want {
		t.Errorf("stderr = %q, want %q", errs.String(), want)
	}
}
