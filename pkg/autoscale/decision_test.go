package autoscale

import (
	"testing"
	"time"
)

func TestScaleOutWhenThreeDatapointsInARowExceedTheTarget(t *testing.T) {
	g := newGroup(t, groupConfig(1, 10, cpuTarget(50)), 1)
	e := only(t, g.run(9, steady(busy("a", 100))), 9, 1, 2)
	want := "At 2026-12-02T02:40:09Z a monitor alarm TargetTracking-shop-api-AlarmHigh-cpu_utilization" +
		" in state ALARM triggered policy cpu_utilization-target-50 changing the desired capacity from 1 to 2."
	if e.Cause != want {
		t.Fatalf("cause = %q\nwant    %q", e.Cause, want)
	}
	if e.Alarm != "TargetTracking-shop-api-AlarmHigh-cpu_utilization" || e.Policy != cpuTarget(50) {
		t.Fatalf("alarm %q policy %+v", e.Alarm, e.Policy)
	}
}

func TestDatapointsAtTheTargetDoNotScaleOut(t *testing.T) {
	g := newGroup(t, groupConfig(1, 10, cpuTarget(50)), 1)
	none(t, g.run(60, steady(busy("a", 50))))
}

func TestScaleInWhenFifteenDatapointsInARowAreBelowNinetyPercentOfTheTarget(t *testing.T) {
	g := newGroup(t, groupConfig(1, 10, cpuTarget(50)), 2)
	e := only(t, g.run(45, steady(fleetOf(2, 40)...)), 45, 2, 1)
	want := "At 2026-12-02T02:40:45Z a monitor alarm TargetTracking-shop-api-AlarmLow-cpu_utilization" +
		" in state ALARM triggered policy cpu_utilization-target-50 changing the desired capacity from 2 to 1."
	if e.Cause != want {
		t.Fatalf("cause = %q\nwant    %q", e.Cause, want)
	}
}

func TestDatapointsAtNinetyPercentOfTheTargetDoNotScaleIn(t *testing.T) {
	g := newGroup(t, groupConfig(1, 10, cpuTarget(50)), 2)
	none(t, g.run(90, steady(fleetOf(2, 45)...)))
}

func TestMissingDatapointBreaksTheScaleInStreak(t *testing.T) {
	g := newGroup(t, groupConfig(1, 10, cpuTarget(50)), 2)
	none(t, g.run(42, steady(fleetOf(2, 40)...))) // 14 low datapoints
	none(t, g.run(3, empty))                      // the 15th is Missing
	// 15 fresh low datapoints are needed: the next decision is at +90s.
	only(t, g.run(45, steady(fleetOf(2, 40)...)), 90, 2, 1)
}

func TestMissingDatapointBreaksTheScaleOutStreak(t *testing.T) {
	g := newGroup(t, groupConfig(1, 10, cpuTarget(50)), 1)
	none(t, g.run(6, steady(busy("a", 100))))
	none(t, g.run(3, empty))
	none(t, g.run(6, steady(busy("a", 100))))
	only(t, g.run(3, steady(busy("a", 100))), 18, 1, 2)
}

func TestScaleOutProposesTheCeilingOfLoadOverTarget(t *testing.T) {
	g := newGroup(t, groupConfig(1, 10, cpuTarget(50)), 2)
	only(t, g.run(9, steady(fleetOf(2, 60)...)), 9, 2, 3) // ceil(2*60/50)
}

func TestMissedSamplesDoNotShrinkTheInstanceCount(t *testing.T) {
	tr, err := New(groupConfig(1, 10, cpuTarget(50)))
	if err != nil {
		t.Fatal(err)
	}
	// The sampler misses one second in three; two instances are at 60%.
	for i := 1; i <= 9; i++ {
		if i%3 != 2 {
			tr.Observe(secs(i), time.Second, fleetOf(2, 60))
		}
		d, ok := tr.Decide(secs(i), 2)
		if ok != (i == 9) || ok && d.To != 3 {
			t.Fatalf("Decide at +%ds = %+v, %v; want 2 -> 3 at +9s only", i, d, ok)
		}
	}
}

func TestScaleInProposesTheFloorOfLoadOverTarget(t *testing.T) {
	g := newGroup(t, groupConfig(1, 10, cpuTarget(50)), 4)
	only(t, g.run(45, steady(fleetOf(4, 30)...)), 45, 4, 2) // floor(4*30/50)
}

func TestWarmingInstanceIsNeitherInTheMetricNorInTheCount(t *testing.T) {
	c := groupConfig(1, 10, cpuTarget(50))
	c.InstanceWarmup = 30 * time.Second
	g := newGroup(t, c, 2)
	fleet := func(now time.Time) []InstanceSample {
		fresh := InstanceSample{ID: "fresh", InServiceSince: start} // idle until warmed up
		if !now.Before(start.Add(c.InstanceWarmup)) {
			fresh.CPUPercent = 60
		}
		return []InstanceSample{busy("a", 60), fresh}
	}
	// While fresh warms up, a alone is above target but proposes
	// ceil(1*60/50) = 2, which desired already is.
	none(t, g.run(30, fleet))
	for _, dp := range g.tracker.Datapoints(CPUUtilization) {
		if dp.Value != 60 {
			t.Fatalf("datapoint %+v: the idle warming instance pulled the average down", dp)
		}
	}
	// Once it counts, two instances at 60% propose 3.
	only(t, g.run(3, fleet), 33, 2, 3)
}

func TestAnyPolicyScalesOutAndTheLargestProposalWins(t *testing.T) {
	g := newGroup(t, groupConfig(1, 10, cpuTarget(50), reqTarget(30)), 2)
	// cpu proposes ceil(2*80/50) = 4, requests ceil(2*75/30) = 5.
	e := only(t, g.run(9, steady(serving("a", 80, 25), serving("b", 80, 25))), 9, 2, 5)
	if e.Policy != reqTarget(30) || e.Alarm != "TargetTracking-shop-api-AlarmHigh-request_count_per_target" {
		t.Fatalf("policy %+v alarm %q, want the request count policy", e.Policy, e.Alarm)
	}
}

func TestOnePolicyAboveTargetScalesOutWhileTheOtherIsLow(t *testing.T) {
	g := newGroup(t, groupConfig(1, 10, cpuTarget(50), reqTarget(30)), 2)
	only(t, g.run(45, steady(serving("a", 5, 20), serving("b", 5, 20))), 9, 2, 4)
}

func TestNoScaleInUnlessEveryPolicyAgrees(t *testing.T) {
	g := newGroup(t, groupConfig(1, 10, cpuTarget(50), reqTarget(30)), 2)
	// cpu at 20% says in; 30 requests per target per period says stay.
	none(t, g.run(90, steady(serving("a", 20, 10), serving("b", 20, 10))))
}

func TestScaleInGoesToTheLargestProposal(t *testing.T) {
	g := newGroup(t, groupConfig(1, 10, cpuTarget(50), reqTarget(30)), 4)
	// cpu proposes floor(4*10/50) = 0 -> min 1, requests floor(4*15/30) = 2.
	fleet := make([]InstanceSample, 4)
	for i := range fleet {
		fleet[i] = serving(string(rune('a'+i)), 10, 5)
	}
	e := only(t, g.run(45, steady(fleet...)), 45, 4, 2)
	if e.Policy != reqTarget(30) || e.Alarm != "TargetTracking-shop-api-AlarmLow-request_count_per_target" {
		t.Fatalf("policy %+v alarm %q, want the request count policy", e.Policy, e.Alarm)
	}
}

func TestDisableScaleInKeepsCapacityButStillScalesOut(t *testing.T) {
	c := groupConfig(1, 10, cpuTarget(50))
	c.DisableScaleIn = true
	g := newGroup(t, c, 2)
	none(t, g.run(90, steady(fleetOf(2, 5)...)))
	only(t, g.run(9, steady(fleetOf(2, 100)...)), 99, 2, 4)
}

func TestNoScaleInWhileAnInstanceWarmsUp(t *testing.T) {
	c := groupConfig(1, 10, cpuTarget(50))
	c.InstanceWarmup = time.Minute
	g := newGroup(t, c, 3)
	fresh := InstanceSample{ID: "fresh", InServiceSince: start, CPUPercent: 10}
	// The streak is complete at +45s, but fresh warms up until +60s.
	only(t, g.run(60, steady(busy("a", 10), busy("b", 10), fresh)), 60, 3, 1)
}

func TestScaleOutAlarmNeedsThreeFreshDatapointsAfterADecision(t *testing.T) {
	g := newGroup(t, groupConfig(1, 10, cpuTarget(50)), 1)
	only(t, g.run(9, steady(busy("a", 100))), 9, 1, 2)
	// The new instance is still booting; a gets busier and alone proposes
	// ceil(150/50) = 3. Datapoints up to +9s do not count any more.
	got := g.run(9, steady(busy("a", 150), InstanceSample{ID: "new"}))
	only(t, got, 18, 2, 3)
}

func TestScaleInAlarmNeedsFifteenFreshDatapointsAfterADecision(t *testing.T) {
	g := newGroup(t, groupConfig(1, 10, cpuTarget(50)), 4)
	only(t, g.run(45, steady(fleetOf(4, 30)...)), 45, 4, 2)
	only(t, g.run(45, steady(fleetOf(2, 20)...)), 90, 2, 1)
}

func TestScaleOutStopsAtMax(t *testing.T) {
	g := newGroup(t, groupConfig(1, 3, cpuTarget(10)), 1)
	only(t, g.run(9, steady(busy("a", 100))), 9, 1, 3) // wants 10
	none(t, g.run(60, steady(fleetOf(3, 100)...)))
}

func TestScaleInStopsAtMin(t *testing.T) {
	g := newGroup(t, groupConfig(2, 10, cpuTarget(50)), 4)
	only(t, g.run(45, steady(fleetOf(4, 0)...)), 45, 4, 2) // wants 0
	none(t, g.run(90, steady(fleetOf(2, 0)...)))
}

func TestScaleInReachesZeroWhenMinIsZero(t *testing.T) {
	g := newGroup(t, groupConfig(0, 10, cpuTarget(50)), 1)
	only(t, g.run(45, steady(busy("a", 1))), 45, 1, 0) // floor(1/50), as AWS
	none(t, g.run(90, empty))
}

func TestDesiredOutsideTheBoundsIsBroughtBack(t *testing.T) {
	g := newGroup(t, groupConfig(1, 3, cpuTarget(50)), 5)
	tests := []struct {
		desired, want int
		cause         string
	}{
		{5, 3, "At 2026-12-02T02:40:00Z the desired capacity 5 was outside the group's bounds (min 1, max 3)," +
			" changing the desired capacity from 5 to 3."},
		{0, 1, "At 2026-12-02T02:40:00Z the desired capacity 0 was outside the group's bounds (min 1, max 3)," +
			" changing the desired capacity from 0 to 1."},
	}
	for _, tt := range tests {
		d, ok := g.tracker.Decide(start, tt.desired)
		if !ok || d.From != tt.desired || d.To != tt.want || d.Cause != tt.cause || d.Alarm != "" {
			t.Fatalf("Decide(%d) = %+v, %v; want %d -> %d, cause %q", tt.desired, d, ok, tt.desired, tt.want, tt.cause)
		}
	}
}

func TestClampBoundsAManualScale(t *testing.T) {
	g := newGroup(t, groupConfig(1, 3, cpuTarget(50)), 1)
	for n, want := range map[int]int{-1: 1, 0: 1, 1: 1, 2: 2, 3: 3, 9: 3} {
		if got := g.tracker.Clamp(n); got != want {
			t.Errorf("Clamp(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestPolicyNameShowsTheTargetAsWritten(t *testing.T) {
	for p, want := range map[Policy]string{
		cpuTarget(50):        "cpu_utilization-target-50",
		reqTarget(12.5):      "request_count_per_target-target-12.5",
		netInTarget(1 << 20): "network_in-target-1048576",
	} {
		if got := p.Name(); got != want {
			t.Errorf("%+v.Name() = %q, want %q", p, got, want)
		}
	}
}
