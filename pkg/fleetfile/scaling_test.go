package fleetfile_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/fleetfile"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

func TestScalingIsReadInFull(t *testing.T) {
	f := mustParse(t, "/srv/shop/fleet.yaml", webService+`    scaling:
      min: 2
      max: 6
      instance_warmup: 60s
      disable_scale_in: true
      target_tracking:
        - {metric: cpu_utilization, target: 50}
        - {metric: request_count_per_target, target: 600}
        - {metric: network_in, target: 1000000}
        - {metric: network_out, target: 2.5e6}
`)
	want := &fleetfile.Scaling{
		Min: 2, Max: 6, InstanceWarmup: time.Minute, DisableScaleIn: true,
		TargetTracking: []fleetfile.TargetTracking{
			{Metric: limits.MetricCPUUtilization, Target: 50},
			{Metric: limits.MetricRequestCountPerTarget, Target: 600},
			{Metric: limits.MetricNetworkIn, Target: 1e6},
			{Metric: limits.MetricNetworkOut, Target: 2.5e6},
		},
	}
	s := f.Service("web")
	if !reflect.DeepEqual(s.Scaling, want) {
		t.Errorf("scaling = %+v\nwant      %+v", s.Scaling, want)
	}
	if s.Instances != 2 {
		t.Errorf("instances = %d, want min, 2, as an Auto Scaling group's desired capacity defaults to its MinSize", s.Instances)
	}
}

func TestScalingDefaults(t *testing.T) {
	f := mustParse(t, "/srv/shop/fleet.yaml", webService+`    scaling: {min: 1, max: 3}
`)
	want := &fleetfile.Scaling{Min: 1, Max: 3, InstanceWarmup: limits.DefaultInstanceWarmup}
	if got := f.Service("web").Scaling; !reflect.DeepEqual(got, want) {
		t.Errorf("scaling = %+v, want %+v (no policies, AWS's warm-up, scale-in on)", got, want)
	}
}

func TestAnEmptyPolicyListMeansNone(t *testing.T) {
	f := mustParse(t, "/srv/shop/fleet.yaml", webService+`    scaling: {min: 1, max: 3, target_tracking: []}
`)
	if got := f.Service("web").Scaling.TargetTracking; got != nil {
		t.Errorf("target tracking = %#v, want nil", got)
	}
}

func TestWithoutScalingThereIsNoneAndBoundsAreTheGroupLimit(t *testing.T) {
	f := mustParse(t, "/srv/shop/fleet.yaml", webService+`    instances: 100
`)
	s := f.Service("web")
	if s.Scaling != nil {
		t.Errorf("scaling = %+v, want nil when the file gives none", s.Scaling)
	}
	if lo, hi := s.Bounds(); lo != 0 || hi != limits.MaxGroupSize {
		t.Errorf("bounds %d..%d, want 0..%d", lo, hi, limits.MaxGroupSize)
	}
	if s.Instances != limits.MaxGroupSize {
		t.Errorf("instances = %d, want %d", s.Instances, limits.MaxGroupSize)
	}
}

func TestBoundsAreScalingsMinAndMax(t *testing.T) {
	s := &fleetfile.Service{Scaling: &fleetfile.Scaling{Min: 2, Max: 5}}
	if lo, hi := s.Bounds(); lo != 2 || hi != 5 {
		t.Errorf("bounds %d..%d, want 2..5", lo, hi)
	}
}

// Every bound of a group is inclusive, as in package limits.
func TestScalingAcceptsItsBounds(t *testing.T) {
	for _, tc := range []struct {
		scaling   string
		instances string // "" leaves instances out
		want      int    // the instance count parsed
	}{
		{"{min: 0, max: 1}", "", 0},       // a group may be empty
		{"{min: 3, max: 3}", "", 3},       // fixed size
		{"{min: 1, max: 6}", "1", 1},      // instances at min
		{"{min: 1, max: 6}", "6", 6},      // instances at max
		{"{min: 100, max: 100}", "", 100}, // the group limit
		{"{min: 0, max: 6}", "0", 0},
		{"{min: 1, max: 6, instance_warmup: 0s}", "", 1},
		{"{min: 1, max: 6, instance_warmup: 1h}", "", 1},
		{"{min: 1, max: 6, target_tracking: [{metric: cpu_utilization, target: 100}]}", "", 1},
		{"{min: 1, max: 6, target_tracking: [{metric: cpu_utilization, target: 0.5}]}", "", 1},
		{"{min: 1, max: 6, target_tracking: [{metric: request_count_per_target, target: 150}]}", "", 1}, // only CPU is a percentage
	} {
		yaml := webService + "    scaling: " + tc.scaling + "\n"
		if tc.instances != "" {
			yaml += "    instances: " + tc.instances + "\n"
		}
		f := mustParse(t, "/srv/shop/fleet.yaml", yaml)
		if got := f.Service("web").Instances; got != tc.want {
			t.Errorf("scaling %s, instances %q: %d instances, want %d", tc.scaling, tc.instances, got, tc.want)
		}
	}
}

func TestScalingCanBeSharedThroughAnAnchor(t *testing.T) {
	f := mustParse(t, "/srv/shop/fleet.yaml", `
x-scaling: &scaling
  min: 1
  max: 4
  target_tracking: [{metric: cpu_utilization, target: 60}]
services:
  web: {image: {binary: ./web}, command: [/web], port: 8080, scaling: *scaling}
  api: {image: {binary: ./api}, command: [/api], port: 8080, scaling: *scaling, instances: 3}
`)
	for _, s := range f.Services {
		if s.Scaling == nil || s.Scaling.Max != 4 || len(s.Scaling.TargetTracking) != 1 {
			t.Errorf("%s: scaling = %+v", s.Name, s.Scaling)
		}
	}
	if f.Service("web").Scaling == f.Service("api").Scaling {
		t.Error("two services share one *Scaling; a change to one would change the other")
	}
	if f.Service("api").Instances != 3 {
		t.Errorf("api instances = %d, want 3 as written", f.Service("api").Instances)
	}
}
