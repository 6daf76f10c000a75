package limits_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/limits"
)

func TestScaledMultipliesAndRoundsToAMillisecond(t *testing.T) {
	for _, tc := range []struct {
		d     time.Duration
		scale float64
		want  time.Duration
	}{
		{30 * time.Second, 0.05, 1500 * time.Millisecond},
		{5 * time.Second, 0.05, 250 * time.Millisecond},
		{300 * time.Second, 0.05, 15 * time.Second},
		{time.Minute, 0.05, 3 * time.Second},
		{30 * time.Second, 1, 30 * time.Second},                  // 1 is AWS's own time
		{2 * time.Second, 0.001, 2 * time.Millisecond},           // AWS's shortest timeout at the least scale
		{1234567 * time.Microsecond, 1, 1235 * time.Millisecond}, // rounded, not truncated
		{1234 * time.Microsecond, 1, time.Millisecond},
		{10 * time.Millisecond, 0.001, time.Millisecond}, // 10µs: a positive period stays at least 1ms
		{time.Nanosecond, 0.5, time.Millisecond},
		{0, 0.05, 0}, // no deregistration delay stays none
	} {
		if got := limits.Scaled(tc.d, tc.scale); got != tc.want {
			t.Errorf("Scaled(%v, %g) = %v, want %v", tc.d, tc.scale, got, tc.want)
		}
	}
}

// The reason for the default: with AWS's defaults a target goes healthy
// after HealthyThreshold checks an interval apart.
func TestAtTheDefaultScaleAWSsDefaultsGoHealthyIn7AndAHalfSeconds(t *testing.T) {
	aws := limits.DefaultHealthyThreshold * limits.DefaultHealthInterval
	if aws != 150*time.Second {
		t.Fatalf("AWS's defaults take %v to go healthy, want 150s", aws)
	}
	if got := limits.Scaled(aws, limits.DefaultTimeScale); got != 7500*time.Millisecond {
		t.Errorf("at the default time scale that is %v, want 7.5s", got)
	}
}

func TestScaledGracePeriodNeverCompressesBelowABoot(t *testing.T) {
	for _, tc := range []struct {
		d     time.Duration
		scale float64
		want  time.Duration
	}{
		{limits.DefaultHealthCheckGracePeriod, limits.DefaultTimeScale, limits.MinScaledGracePeriod}, // 15s would cut boots short
		{limits.DefaultHealthCheckGracePeriod, 0.001, limits.MinScaledGracePeriod},
		{limits.DefaultHealthCheckGracePeriod, 0.5, 150 * time.Second}, // above the floor: scaled as any period
		{limits.DefaultHealthCheckGracePeriod, 1, 300 * time.Second},
		{20 * time.Minute, 0.05, 60 * time.Second},
		{40 * time.Minute, 0.05, 120 * time.Second},
		// Shorter than the floor already in AWS time: kept, not lengthened,
		// so time scale 1 stays AWS's time.
		{30 * time.Second, 1, 30 * time.Second},
		{30 * time.Second, 0.05, 30 * time.Second},
		{0, 0.05, 0},
	} {
		if got := limits.ScaledGracePeriod(tc.d, tc.scale); got != tc.want {
			t.Errorf("ScaledGracePeriod(%v, %g) = %v, want %v", tc.d, tc.scale, got, tc.want)
		}
	}
}

func TestEveryMetricHasAnAWSName(t *testing.T) {
	want := []string{"cpu_utilization", "request_count_per_target", "network_in", "network_out"}
	if got := limits.Metrics(); !slices.Equal(got, want) {
		t.Errorf("Metrics() = %v, want %v", got, want)
	}
	for _, m := range limits.Metrics() {
		if limits.AWSMetric(m) == "" {
			t.Errorf("metric %s has no AWS name", m)
		}
	}
	if got := limits.AWSMetric("memory"); got != "" {
		t.Errorf("AWSMetric of an unknown metric = %q, want empty", got)
	}
}

func TestMetricsCannotBeChangedByACaller(t *testing.T) {
	limits.Metrics()[0] = "changed"
	if limits.Metrics()[0] != limits.MetricCPUUtilization {
		t.Error("a caller's change to Metrics() was seen by the next caller")
	}
}

func ExampleScaled() {
	// A health check every 30 s of AWS time, in a fleet at time_scale 0.05.
	fmt.Println(limits.Scaled(30*time.Second, 0.05))
	// Output: 1.5s
}

func ExampleCheckTimeScale() {
	if err := limits.CheckTimeScale(2); err != nil {
		fmt.Println("time_scale 2 " + err.Error())
	}
	// Output: time_scale 2 is more than 1, which would run slower than AWS; give 0.001 to 1, like 0.05 (1 is AWS's own time)
}
