package controller

import (
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func ms(specs ...member) []*member {
	out := make([]*member, len(specs))
	for i := range specs {
		m := specs[i]
		if m.key == "" {
			m.key = string(rune('a' + i))
		}
		out[i] = &m
	}
	return out
}

func keys(ms []*member) []string {
	var k []string
	for _, m := range ms {
		k = append(k, m.key)
	}
	return k
}

func TestPlanLaunchesUpToTheDesiredCount(t *testing.T) {
	p := planService(view{desired: 3, digest: "d", members: ms(member{digest: "d", phase: inService}), now: t0})
	if p.launch != 2 || len(p.retire) != 0 {
		t.Fatalf("plan %+v, want 2 launches", p)
	}
}

func TestPlanCountsLaunchingAndBootingInstancesAsOnTheirWay(t *testing.T) {
	p := planService(view{desired: 3, digest: "d", now: t0, members: ms(
		member{digest: "d", phase: launching}, member{digest: "d", phase: booting, launched: t0}, member{digest: "d", phase: inService})})
	if p.launch != 0 || len(p.retire) != 0 {
		t.Fatalf("plan %+v, want nothing", p)
	}
}

func TestPlanScalesInNewestAndLeastEstablishedFirst(t *testing.T) {
	p := planService(view{desired: 1, digest: "d", now: t0, members: ms(
		member{key: "old", digest: "d", phase: inService, launched: t0.Add(-time.Hour)},
		member{key: "new", digest: "d", phase: inService, launched: t0.Add(-time.Minute)},
		member{key: "boot", digest: "d", phase: booting, launched: t0.Add(-2 * time.Hour)},
		member{key: "launch", digest: "d", phase: launching})})
	// 4 alive, 1 desired: retire 3, but a launching one cannot be retired yet.
	if got := keys(p.retire); len(got) != 2 || got[0] != "boot" || got[1] != "new" {
		t.Fatalf("retire %v, want [boot new]", got)
	}
}

func TestPlanReplacesInstancesThatNeverTurnHealthyWithinTheGracePeriod(t *testing.T) {
	p := planService(view{desired: 2, digest: "d", now: t0, grace: time.Minute, members: ms(
		member{key: "stuck", digest: "d", phase: booting, launched: t0.Add(-2 * time.Minute)},
		member{key: "fine", digest: "d", phase: booting, launched: t0.Add(-30 * time.Second)})})
	if got := keys(p.replace); len(got) != 1 || got[0] != "stuck" || p.launch != 1 {
		t.Fatalf("plan %+v, want stuck replaced and one launch", p)
	}
}

func TestPlanRollsOutANewImageLaunchBeforeTerminate(t *testing.T) {
	old := ms(member{key: "o1", digest: "old", phase: inService}, member{key: "o2", digest: "old", phase: inService})
	// New image: launch two, keep the old ones serving meanwhile.
	p := planService(view{desired: 2, digest: "new", now: t0, members: old})
	if p.launch != 2 || len(p.retire) != 0 {
		t.Fatalf("plan %+v, want 2 launches and no retirement yet", p)
	}
	// New ones booting: still keep the old.
	withNew := append(old, ms(member{key: "n1", digest: "new", phase: booting, launched: t0}, member{key: "n2", digest: "new", phase: inService})...)
	if p := planService(view{desired: 2, digest: "new", now: t0, members: withNew}); len(p.retire) != 0 || p.launch != 0 {
		t.Fatalf("plan %+v, want to wait for the new ones", p)
	}
	// Both new in service: retire the old.
	withNew[2].phase = inService
	if p := planService(view{desired: 2, digest: "new", now: t0, members: withNew}); len(p.retire) != 2 {
		t.Fatalf("plan %+v, want both old retired", p)
	}
}

// An Auto Scaling group launches new instances from a new version and
// leaves the old ones running until a refresh, or a scale-in, which
// takes the oldest version first.
func TestAGroupKeepsInstancesOfAnOlderVersionAndScalesThemInFirst(t *testing.T) {
	old := ms(member{key: "o1", digest: "old", phase: inService}, member{key: "o2", digest: "old", phase: inService})
	if p := planService(view{desired: 2, digest: "new", now: t0, members: old, keepOld: true}); p.launch != 0 || len(p.retire) != 0 {
		t.Fatalf("plan %+v, want the old instances kept as they are", p)
	}
	p := planService(view{desired: 3, digest: "new", now: t0, members: old, keepOld: true})
	if p.launch != 1 || len(p.retire) != 0 {
		t.Fatalf("plan %+v, want one launch (of the new version) and nothing retired", p)
	}
	mixed := append(old, ms(member{key: "n1", digest: "new", phase: inService})...)
	if p := planService(view{desired: 2, digest: "new", now: t0, members: mixed, keepOld: true}); len(p.retire) != 1 || p.retire[0].digest != "old" {
		t.Fatalf("plan %+v, want one of the old version scaled in", p)
	}
	refresh := &refreshBounds{minHealthy: 0, maxHealthy: 100}
	if p := planService(view{desired: 2, digest: "new", now: t0, members: old, keepOld: true, refresh: refresh}); len(p.retire) != 2 {
		t.Fatalf("plan %+v, want a refresh at 0 %% to replace both old instances", p)
	}
}

func TestPlanScaleToZeroRetiresEverything(t *testing.T) {
	p := planService(view{desired: 0, digest: "new", now: t0, members: ms(
		member{digest: "old", phase: inService}, member{digest: "new", phase: booting, launched: t0}, member{digest: "new", phase: leaving})})
	if len(p.retire) != 2 || p.launch != 0 {
		t.Fatalf("plan %+v, want the two alive retired", p)
	}
}

func TestScaleInFollowsTheTerminationPoliciesAndSparesTheProtected(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	at := func(key string, age time.Duration, ph phase) *member {
		return &member{key: key, digest: "cur", phase: ph, launched: now.Add(-age)}
	}
	group := func() []*member {
		return []*member{at("old", 3*time.Hour, inService), at("mid", 2*time.Hour, inService), at("new", time.Hour, inService), at("boot", time.Minute, booting)}
	}
	keys := func(p plan) []string {
		var out []string
		for _, m := range p.retire {
			out = append(out, m.key)
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		policies  []string
		protected []string
		want      []string
	}{
		{"Default: not in service first, then the newest", nil, nil, []string{"boot", "new"}},
		{"OldestInstance", []string{"OldestInstance"}, nil, []string{"old", "mid"}},
		{"NewestInstance", []string{"NewestInstance"}, nil, []string{"boot", "new"}},
		{"protected instances are never picked", []string{"OldestInstance"}, []string{"old"}, []string{"mid", "new"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prot := map[string]bool{}
			for _, k := range tc.protected {
				prot[k] = true
			}
			got := keys(planService(view{desired: 2, digest: "cur", members: group(), now: now, policies: tc.policies, protected: prot}))
			if !slices.Equal(got, tc.want) {
				t.Errorf("retired %v, want %v", got, tc.want)
			}
		})
	}
}

// An instance refresh at MinHealthyPercentage 50, MaxHealthyPercentage 100
// (AWS's defaults) first terminates half of the group, then launches into
// the room that leaves, never below half in service nor above the desired
// count running.
func TestARefreshAtFiftyToAHundredPercentTerminatesHalfThenLaunches(t *testing.T) {
	r := &refreshBounds{minHealthy: 50, maxHealthy: 100}
	old := func(key string) member { return member{key: key, digest: "v1", phase: inService, launched: t0} }
	p := planService(view{desired: 4, digest: "v2", now: t0, refresh: r, members: ms(old("a"), old("b"), old("c"), old("d"))})
	if p.launch != 0 || len(p.retire) != 2 {
		t.Fatalf("first step: launch %d, retire %v; want 0 and two", p.launch, keys(p.retire))
	}
	p = planService(view{desired: 4, digest: "v2", now: t0, refresh: r, members: ms(old("c"), old("d"))})
	if p.launch != 2 || len(p.retire) != 0 {
		t.Fatalf("with two gone: launch %d, retire %v; want 2 and none", p.launch, keys(p.retire))
	}
	p = planService(view{desired: 4, digest: "v2", now: t0, refresh: r, members: ms(old("c"), old("d"),
		member{digest: "v2", phase: inService}, member{digest: "v2", phase: inService})})
	if p.launch != 0 || len(p.retire) != 2 {
		t.Fatalf("with two new in service: launch %d, retire %v; want 0 and the other two", p.launch, keys(p.retire))
	}
}

// At 100 to 200 percent the refresh launches the whole group first and
// terminates an outdated instance for each new one in service.
func TestARefreshAtAHundredToTwoHundredPercentLaunchesFirst(t *testing.T) {
	r := &refreshBounds{minHealthy: 100, maxHealthy: 200}
	old := func(key string) member { return member{key: key, digest: "v1", phase: inService, launched: t0} }
	p := planService(view{desired: 2, digest: "v2", now: t0, refresh: r, members: ms(old("a"), old("b"))})
	if p.launch != 2 || len(p.retire) != 0 {
		t.Fatalf("launch %d, retire %v; want 2 and none", p.launch, keys(p.retire))
	}
	p = planService(view{desired: 2, digest: "v2", now: t0, refresh: r, members: ms(old("a"), old("b"),
		member{digest: "v2", phase: inService}, member{digest: "v2", phase: booting, launched: t0})})
	if p.launch != 0 || len(p.retire) != 1 {
		t.Fatalf("one new in service: launch %d, retire %v; want 0 and one", p.launch, keys(p.retire))
	}
}

// Without SkipMatching a refresh replaces instances already on the
// launch template version too, those launched before it began.
func TestARefreshWithoutSkipMatchingReplacesInstancesOnTheVersionAlready(t *testing.T) {
	r := &refreshBounds{minHealthy: 50, maxHealthy: 100, since: t0}
	p := planService(view{desired: 2, digest: "v2", now: t0, refresh: r, members: ms(
		member{key: "before", digest: "v2", phase: inService, launched: t0.Add(-time.Minute)},
		member{key: "after", digest: "v2", phase: inService, launched: t0.Add(time.Second)})})
	if got := keys(p.retire); len(got) != 1 || got[0] != "before" {
		t.Fatalf("retire %v, want [before]", got)
	}
}

// AWS's default bounds, 90 to 100 %, leave no room in a group of 3: the
// refresh still replaces one instance at a time, waiting for each.
func TestARefreshWithNoRoomStillReplacesOneAtATime(t *testing.T) {
	r := &refreshBounds{minHealthy: 90, maxHealthy: 100}
	old := func(key string) member { return member{key: key, digest: "v1", phase: inService, launched: t0} }
	p := planService(view{desired: 3, digest: "v2", now: t0, refresh: r, members: ms(old("a"), old("b"), old("c"))})
	if p.launch != 0 || len(p.retire) != 1 {
		t.Fatalf("launch %d, retire %v; want 0 and one", p.launch, keys(p.retire))
	}
	p = planService(view{desired: 3, digest: "v2", now: t0, refresh: r, members: ms(old("b"), old("c"),
		member{digest: "v2", phase: booting, launched: t0})})
	if p.launch != 0 || len(p.retire) != 0 {
		t.Fatalf("while its replacement boots: launch %d, retire %v; want nothing", p.launch, keys(p.retire))
	}
}

// A checkpoint at 25 % of 4 lets one instance be replaced, then holds
// the group as it is, old and new, until the refresh goes on.
func TestARefreshReplacesNoMoreThanItsNextCheckpointAllows(t *testing.T) {
	r := &refreshBounds{minHealthy: 0, maxHealthy: 100, upTo: 1}
	old := func(key string) member { return member{key: key, digest: "v1", phase: inService, launched: t0} }
	p := planService(view{desired: 4, digest: "v2", now: t0, refresh: r, keepOld: true, members: ms(old("a"), old("b"), old("c"), old("d"))})
	if p.launch != 0 || len(p.retire) != 1 {
		t.Fatalf("first step: launch %d, retire %v; want 0 and one (0 %% min healthy would take all four)", p.launch, keys(p.retire))
	}
	p = planService(view{desired: 4, digest: "v2", now: t0, refresh: r, keepOld: true, members: ms(old("b"), old("c"), old("d"))})
	if p.launch != 1 || len(p.retire) != 0 {
		t.Fatalf("with one gone: launch %d, retire %v; want its one replacement", p.launch, keys(p.retire))
	}
	p = planService(view{desired: 4, digest: "v2", now: t0, refresh: r, keepOld: true, members: ms(old("b"), old("c"), old("d"),
		member{digest: "v2", phase: inService})})
	if p.launch != 0 || len(p.retire) != 0 {
		t.Fatalf("at the checkpoint: launch %d, retire %v; want the group held as it is", p.launch, keys(p.retire))
	}
}
