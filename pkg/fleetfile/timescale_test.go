package fleetfile_test

import (
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/health"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

// oneService is a valid services: block for files that are about
// something else.
const oneService = `
services:
  web: {image: {binary: ./web}, command: [/web], port: 8080}
`

// timeScaleBadFiles are badFiles about the top-level time_scale.
func timeScaleBadFiles() []badFile {
	return []badFile{
		{name: "time scale zero", yaml: "\ntime_scale: 0" + oneService, line: 1,
			want: "time_scale: time_scale 0 must be more than zero; give 0.001 to 1, like 0.05 (1 is AWS's own time)"},
		{name: "negative time scale", yaml: "\ntime_scale: -0.5" + oneService, line: 1, want: "time_scale -0.5 must be more than zero"},
		{name: "time scale slower than AWS", yaml: "\ntime_scale: 2" + oneService, line: 1, want: "time_scale 2 is more than 1, which would run slower than AWS"},
		{name: "time scale below the least", yaml: "\ntime_scale: 0.0001" + oneService, line: 1, want: "time_scale 0.0001 is less than 0.001"},
		{name: "time scale not a number", yaml: "\ntime_scale: .nan" + oneService, line: 1, want: "is not a finite number"},
		{name: "time scale quoted", yaml: "\ntime_scale: \"0.05\"" + oneService, line: 1, want: `"0.05" is a string, not a number; write it without quotes, like 0.05`},
		{name: "time scale as a fraction", yaml: "\ntime_scale: 1/20" + oneService, line: 1, want: `"1/20" is not a number; write it like 0.05`},
		{name: "time scale as a percentage", yaml: "\ntime_scale: 5%" + oneService, line: 1, want: `"5%" is not a number`},
		{name: "time scale without a value", yaml: "\ntime_scale:" + oneService, line: 1, want: "time_scale: has no value, want a number"},
		{name: "time scale misspelt", yaml: "\ntimescale: 0.05" + oneService, line: 1, want: `unknown key "timescale"; did you mean time_scale?`},
		{name: "time scale twice", yaml: "\ntime_scale: 0.05\ntime_scale: 1" + oneService, line: 2, want: `key "time_scale" appears twice (first at line 1)`},
	}
}

func TestTimeScaleDefaultsTo005(t *testing.T) {
	f := mustParse(t, "/srv/shop/fleet.yaml", oneService)
	if f.TimeScale != limits.DefaultTimeScale || limits.DefaultTimeScale != 0.05 {
		t.Errorf("time scale %g, want the default 0.05", f.TimeScale)
	}
}

func TestTimeScaleIsReadAsWritten(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  float64
	}{
		{"1", 1}, // AWS's own time, written as a whole number
		{"1.0", 1},
		{"0.5", 0.5},
		{"0.001", limits.MinTimeScale},
		{"2e-2", 0.02},
	} {
		f := mustParse(t, "/srv/shop/fleet.yaml", "\ntime_scale: "+tc.value+oneService)
		if f.TimeScale != tc.want {
			t.Errorf("time_scale: %s gives %g, want %g", tc.value, f.TimeScale, tc.want)
		}
	}
}

// The file holds AWS time; scaling is for whoever runs the fleet.
func TestPeriodsAreKeptInAWSTime(t *testing.T) {
	f := mustParse(t, "/srv/shop/fleet.yaml", `
time_scale: 0.05
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    health: {interval: 10s, timeout: 5s}
    balancer: {deregistration_delay: 30s}
    scaling: {min: 1, max: 2, instance_warmup: 60s}
`)
	s := f.Service("web")
	want := health.Check{Type: "http", Path: "/", Interval: 10 * time.Second, Timeout: 5 * time.Second, HealthyThreshold: 5, UnhealthyThreshold: 2}
	if s.Health != want || s.Balancer.DeregistrationDelay != 30*time.Second || s.Scaling.InstanceWarmup != time.Minute {
		t.Errorf("periods were changed: health %+v, deregistration delay %v, warm-up %v", s.Health, s.Balancer.DeregistrationDelay, s.Scaling.InstanceWarmup)
	}
}
