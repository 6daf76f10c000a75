package autoscale

import (
	"math"
	"testing"
	"time"
)

// newTracker is a Tracker with the given policies and warmup, 3s period.
func newTracker(t *testing.T, warmup time.Duration) *Tracker {
	t.Helper()
	c := groupConfig(1, 10, cpuTarget(50))
	c.InstanceWarmup = warmup
	tr, err := New(c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tr
}

// closeAll closes every period ending by now and returns m's datapoints.
func closeAll(tr *Tracker, now time.Time, m Metric) []Datapoint {
	tr.Decide(now, 1)
	return tr.Datapoints(m)
}

func wantValues(t *testing.T, got []Datapoint, want ...float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("datapoints = %+v, want %d of them", got, len(want))
	}
	for i, w := range want {
		if got[i].Missing || math.Abs(got[i].Value-w) > 1e-9 {
			t.Fatalf("datapoint %d = %+v, want value %v", i, got[i], w)
		}
	}
}

func TestDatapointCPUIsTheTimeWeightedAverageOfEligibleInstances(t *testing.T) {
	tr := newTracker(t, 0)
	// a: 10% for 1s then 40% for 2s -> 30; b: 50% throughout.
	tr.Observe(secs(1), time.Second, []InstanceSample{busy("a", 10), busy("b", 50)})
	tr.Observe(secs(3), 2*time.Second, []InstanceSample{busy("a", 40), busy("b", 50)})
	wantValues(t, closeAll(tr, secs(3), CPUUtilization), (10*1+40*2+50*3)/6.0)
}

func TestDatapointRequestsAreTheTotalOverTheAverageNumberOfTargets(t *testing.T) {
	tr := newTracker(t, 0)
	tr.Observe(secs(1), time.Second, []InstanceSample{serving("a", 0, 30), serving("b", 0, 30)})
	tr.Observe(secs(2), time.Second, []InstanceSample{serving("a", 0, 30), serving("b", 0, 30)})
	tr.Observe(secs(3), time.Second, []InstanceSample{serving("a", 0, 60)}) // b left
	// 180 requests over (2+2+1)/3 targets on average.
	wantValues(t, closeAll(tr, secs(3), RequestCountPerTarget), 180/(5.0/3))
}

func TestDatapointNetworkIsTheBytesPerAverageInstance(t *testing.T) {
	tr := newTracker(t, 0)
	for i := 1; i <= 3; i++ {
		tr.Observe(secs(i), time.Second, []InstanceSample{
			{ID: "a", InServiceSince: longAgo, NetIn: 1000, NetOut: 10},
			{ID: "b", InServiceSince: longAgo, NetIn: 3000, NetOut: 30},
		})
	}
	wantValues(t, closeAll(tr, secs(3), NetworkIn), 6000)
	wantValues(t, tr.Datapoints(NetworkOut), 60)
}

func TestDatapointLeavesOutInstancesNotInServiceOrStillWarmingUp(t *testing.T) {
	tr := newTracker(t, 10*time.Second)
	booting := InstanceSample{ID: "booting", CPUPercent: 100, Requests: 99}
	warming := InstanceSample{ID: "warming", InServiceSince: secs(-5), CPUPercent: 0, Requests: 99}
	for i := 1; i <= 3; i++ {
		tr.Observe(secs(i), time.Second, []InstanceSample{serving("a", 80, 10), booting, warming})
	}
	wantValues(t, closeAll(tr, secs(3), CPUUtilization), 80)
	wantValues(t, tr.Datapoints(RequestCountPerTarget), 30)
}

func TestInstanceCountsFromTheEndOfItsWarmup(t *testing.T) {
	tr := newTracker(t, 2*time.Second)
	fresh := InstanceSample{ID: "fresh", InServiceSince: secs(0), CPUPercent: 20}
	for i := 1; i <= 3; i++ {
		tr.Observe(secs(i), time.Second, []InstanceSample{busy("a", 80), fresh})
	}
	// fresh is 2s in service at +2s: it counts for the samples at 2 and 3.
	wantValues(t, closeAll(tr, secs(3), CPUUtilization), (80*3+20*2)/5.0)
}

func TestPeriodWithoutAnEligibleInstanceIsMissing(t *testing.T) {
	tr := newTracker(t, time.Minute)
	warming := InstanceSample{ID: "w", InServiceSince: secs(0), CPUPercent: 90}
	for i := 1; i <= 3; i++ {
		tr.Observe(secs(i), time.Second, []InstanceSample{warming, {ID: "booting"}})
	}
	got := closeAll(tr, secs(3), CPUUtilization)
	if len(got) != 1 || !got[0].Missing || !got[0].End.Equal(secs(3)) {
		t.Fatalf("datapoints = %+v, want one Missing ending at +3s", got)
	}
}

func TestPeriodWithoutSamplesIsMissing(t *testing.T) {
	tr := newTracker(t, 0)
	tr.Observe(secs(3), time.Second, fleetOf(1, 70))
	// Nothing observed in (3s, 9s]: two Missing datapoints.
	tr.Observe(secs(12), time.Second, fleetOf(1, 70))
	got := closeAll(tr, secs(12), CPUUtilization)
	want := []bool{false, true, true, false}
	if len(got) != len(want) {
		t.Fatalf("datapoints = %+v, want %d", got, len(want))
	}
	for i, missing := range want {
		if got[i].Missing != missing || !got[i].End.Equal(secs(3*(i+1))) {
			t.Fatalf("datapoint %d = %+v, want end +%ds missing=%v", i, got[i], 3*(i+1), missing)
		}
	}
}

func TestDatapointsAreAlignedToThePeriodAndEndWithTheirLastSample(t *testing.T) {
	tr := newTracker(t, 0)
	tr.Observe(secs(2), time.Second, fleetOf(1, 10))
	tr.Observe(secs(3), time.Second, fleetOf(1, 20)) // exactly at the end: still this period
	if got := closeAll(tr, secs(2), CPUUtilization); len(got) != 0 {
		t.Fatalf("period (0s, 3s] closed at +2s: %+v", got)
	}
	tr.Observe(start.Add(3500*time.Millisecond), time.Second, fleetOf(1, 90)) // next period
	got := closeAll(tr, secs(3), CPUUtilization)
	wantValues(t, got, 15)
	if !got[0].End.Equal(secs(3)) {
		t.Fatalf("datapoint ends at %v, want %v", got[0].End, secs(3))
	}
}

func TestSampleForAClosedPeriodIsDropped(t *testing.T) {
	tr := newTracker(t, 0)
	tr.Observe(secs(3), time.Second, fleetOf(1, 10))
	tr.Decide(secs(3), 1)
	tr.Observe(secs(3), time.Second, fleetOf(1, 90)) // too late
	tr.Observe(secs(2), time.Second, fleetOf(1, 90)) // clock went back
	tr.Observe(secs(6), time.Second, fleetOf(1, 20))
	wantValues(t, closeAll(tr, secs(6), CPUUtilization), 10, 20)
}

func TestPartlySampledPeriodIsScaledToAWholePeriod(t *testing.T) {
	tr := newTracker(t, 0)
	// The sampler missed the second at +2s: 2 of 3 seconds seen.
	tr.Observe(secs(1), time.Second, []InstanceSample{serving("a", 40, 10)})
	tr.Observe(secs(3), time.Second, []InstanceSample{serving("a", 40, 10)})
	wantValues(t, closeAll(tr, secs(3), RequestCountPerTarget), 30)
	wantValues(t, tr.Datapoints(CPUUtilization), 40)
}

func TestBrokenReadingsCountAsZero(t *testing.T) {
	tr := newTracker(t, 0)
	for i, v := range []float64{math.NaN(), -5, math.Inf(1)} {
		tr.Observe(secs(i+1), time.Second, []InstanceSample{busy("a", v), busy("b", 60)})
	}
	wantValues(t, closeAll(tr, secs(3), CPUUtilization), 30)
}

func TestLongSilenceKeepsOnlyTheLatestDatapoints(t *testing.T) {
	tr := newTracker(t, 0)
	tr.Observe(secs(3), time.Second, fleetOf(1, 10))
	later := start.Add(24 * time.Hour)
	got := closeAll(tr, later, CPUUtilization)
	if len(got) != KeptDatapoints {
		t.Fatalf("kept %d datapoints, want %d", len(got), KeptDatapoints)
	}
	for i, dp := range got {
		end := later.Add(-time.Duration(KeptDatapoints-1-i) * 3 * time.Second)
		if !dp.Missing || !dp.End.Equal(end) {
			t.Fatalf("datapoint %d = %+v, want Missing ending at %v", i, dp, end)
		}
	}
}

func TestDatapointsOfAnUnknownMetricAreNil(t *testing.T) {
	tr := newTracker(t, 0)
	tr.Observe(secs(3), time.Second, fleetOf(1, 10))
	if got := closeAll(tr, secs(3), "disk"); got != nil {
		t.Fatalf("Datapoints(disk) = %+v, want nil", got)
	}
}
