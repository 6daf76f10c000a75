package limits_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/limits"
)

func TestAFleetFileTakesAWSsHealthCheckRanges(t *testing.T) {
	for _, tc := range []struct {
		interval, timeout time.Duration
		ok                bool
	}{
		{5 * time.Second, 2 * time.Second, true},
		{300 * time.Second, 120 * time.Second, true},
		{limits.DefaultHealthInterval, limits.DefaultHealthTimeout, true},
		{time.Second, 2 * time.Second, false},       // interval under 5s
		{301 * time.Second, 2 * time.Second, false}, // interval over 300s
		{5 * time.Second, time.Second, false},       // timeout under 2s
		{5 * time.Second, 800 * time.Millisecond, false},
		{300 * time.Second, 121 * time.Second, false},     // timeout over 120s
		{5500 * time.Millisecond, 2 * time.Second, false}, // AWS takes whole seconds
	} {
		err := limits.CheckHealthInterval(tc.interval)
		if err == nil {
			err = limits.CheckHealthTimeout(tc.timeout)
		}
		if (err == nil) != tc.ok {
			t.Errorf("interval %v timeout %v: err %v, want ok=%v", tc.interval, tc.timeout, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "AWS") {
			t.Errorf("the refusal %q does not say whose range it is", err)
		}
	}
}

func TestHealthPeriodsRunScaledButNeverBelowWhatAnEmulatedGuestMeets(t *testing.T) {
	floors := limits.EmulationFloors()
	for _, tc := range []struct {
		name              string
		interval, timeout time.Duration
		unhealthy         int
		scale             float64
		want              limits.HealthPeriods
	}{
		// AWS's defaults at the default scale: 1.5s checks, the timeout
		// floored (250ms would be too short), heartbeat every 3s, allowed
		// one interval late, then floored.
		{"defaults", 30 * time.Second, 5 * time.Second, 2, limits.DefaultTimeScale,
			limits.HealthPeriods{Interval: 1500 * time.Millisecond, Timeout: time.Second, Silence: 5 * time.Second}},
		// The shortest periods AWS accepts, at the default scale: what made
		// the death spiral (50ms checks, 150ms silence) at 1s/800ms before.
		{"shortest", 5 * time.Second, 2 * time.Second, 2, limits.DefaultTimeScale,
			limits.HealthPeriods{Interval: time.Second, Timeout: 800 * time.Millisecond, Silence: 5 * time.Second}},
		{"aws time", 30 * time.Second, 5 * time.Second, 2, 1,
			limits.HealthPeriods{Interval: 30 * time.Second, Timeout: 5 * time.Second, Silence: 90 * time.Second}},
		{"above the floors", 60 * time.Second, 10 * time.Second, 3, 0.5,
			limits.HealthPeriods{Interval: 30 * time.Second, Timeout: 5 * time.Second, Silence: 120 * time.Second}},
		{"least scale", 5 * time.Second, 2 * time.Second, 10, limits.MinTimeScale,
			limits.HealthPeriods{Interval: time.Second, Timeout: 800 * time.Millisecond, Silence: 11 * time.Second}},
	} {
		got := limits.RunHealthPeriods(tc.interval, tc.timeout, tc.unhealthy, tc.scale, floors)
		if got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
		if got.Timeout >= got.Interval {
			t.Errorf("%s: timeout %v is not below interval %v", tc.name, got.Timeout, got.Interval)
		}
	}
}

func TestLowerFloorsRunTheScaledPeriods(t *testing.T) {
	got := limits.RunHealthPeriods(5*time.Second, 2*time.Second, 2, 0.02, limits.HealthFloors{})
	want := limits.HealthPeriods{Interval: 100 * time.Millisecond, Timeout: 40 * time.Millisecond, Silence: 300 * time.Millisecond}
	if got != want {
		t.Errorf("%v, want %v", got, want)
	}
}
