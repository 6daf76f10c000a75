package controller

import (
	"slices"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/limits"
)

func TestPlanFillsTheWarmPoolBesideTheGroup(t *testing.T) {
	p := planService(view{desired: 1, digest: "d", now: t0, poolSize: 2, poolState: "running",
		members: ms(member{digest: "d", phase: inService})})
	if p.launch != 0 || p.poolLaunch != 2 {
		t.Fatalf("plan %+v, want 2 launches into the pool and none into the group", p)
	}
}

func TestPoolMembersAreNeverCountedAsTheGroups(t *testing.T) {
	p := planService(view{desired: 1, digest: "d", now: t0, poolSize: 1, poolState: "running",
		members: ms(member{digest: "d", phase: warming, pool: "running"})})
	if p.launch != 1 || p.poolLaunch != 0 || len(p.enter) != 0 {
		t.Fatalf("plan %+v: a warming member is the pool's, not yet ready: want 1 launch", p)
	}
}

func TestScaleOutTakesReadyWarmInstancesFirstOldestFirst(t *testing.T) {
	p := planService(view{desired: 3, digest: "d", now: t0, poolSize: 2, poolState: "hibernated", members: ms(
		member{key: "serving", digest: "d", phase: inService},
		member{key: "young", digest: "d", phase: warmed, pool: "hibernated", launched: t0},
		member{key: "old", digest: "d", phase: warmed, pool: "hibernated", launched: t0.Add(-time.Hour)},
		member{key: "pending", digest: "d", phase: warming, pool: "hibernated"})})
	if got := keys(p.enter); !slices.Equal(got, []string{"old", "young"}) {
		t.Fatalf("enter %v, want [old young]", got)
	}
	// Two wanted beside the one serving: both from the pool, no launch;
	// the pool, down to the pending one, refills by one.
	if p.launch != 0 || p.poolLaunch != 1 {
		t.Fatalf("plan %+v, want no launch and 1 into the pool", p)
	}
}

func TestAScaleOutLargerThanThePoolLaunchesTheRest(t *testing.T) {
	p := planService(view{desired: 4, digest: "d", now: t0, poolSize: 1, poolState: "running", members: ms(
		member{key: "w", digest: "d", phase: warmed, pool: "running"})})
	if len(p.enter) != 1 || p.launch != 3 || p.poolLaunch != 1 {
		t.Fatalf("plan %+v, want 1 from the pool, 3 launches, 1 into the pool", p)
	}
}

func TestOutdatedOrOtherStatePoolMembersAreDropped(t *testing.T) {
	p := planService(view{desired: 0, digest: "new", now: t0, poolSize: 1, poolState: "stopped", members: ms(
		member{key: "outdated", digest: "old", phase: warmed, pool: "stopped"},
		member{key: "running", digest: "new", phase: warmed, pool: "running"},
		member{key: "moving", digest: "old", phase: warming, pool: "stopped", busy: true})})
	if got := keys(p.poolDrop); !slices.Equal(got, []string{"outdated", "running"}) {
		t.Fatalf("drop %v, want [outdated running] (a busy member is left alone)", got)
	}
	if p.poolLaunch != 0 {
		t.Fatalf("plan %+v: the busy member holds the pool's one place", p)
	}
}

func TestAPoolLargerThanItsSizeDropsWarmingThenNewest(t *testing.T) {
	p := planService(view{desired: 1, digest: "d", now: t0, poolSize: 1, poolState: "running", members: ms(
		member{key: "serving", digest: "d", phase: inService},
		member{key: "oldest", digest: "d", phase: warmed, pool: "running", launched: t0.Add(-time.Hour)},
		member{key: "newest", digest: "d", phase: warmed, pool: "running", launched: t0},
		member{key: "warming", digest: "d", phase: warming, pool: "running", launched: t0.Add(-2 * time.Hour)})})
	if got := keys(p.poolDrop); !slices.Equal(got, []string{"warming", "newest"}) {
		t.Fatalf("drop %v, want [warming newest]", got)
	}
}

func TestScaleInReturnsInstancesToThePoolWhenReuseIsOn(t *testing.T) {
	members := ms(
		member{key: "a", digest: "d", phase: inService, launched: t0.Add(-time.Hour)},
		member{key: "b", digest: "d", phase: inService, launched: t0})
	p := planService(view{desired: 1, digest: "d", now: t0, poolSize: 2, poolState: "running", reuse: true, members: members})
	if got := keys(p.toPool); !slices.Equal(got, []string{"b"}) || len(p.retire) != 0 {
		t.Fatalf("plan %+v, want b back to the pool and nothing retired", p)
	}
	if p.poolLaunch != 1 {
		t.Fatalf("plan %+v: the returning instance takes one of the pool's two places", p)
	}
	p = planService(view{desired: 1, digest: "d", now: t0, poolSize: 2, poolState: "running", members: members})
	if got := keys(p.retire); !slices.Equal(got, []string{"b"}) || len(p.toPool) != 0 {
		t.Fatalf("without reuse: plan %+v, want b retired", p)
	}
}

// The boot budget admits boots while their CPU fits the limit, and always
// one, however large.
func TestTheBootBudgetAdmitsBootsUpToItsLimitAndAlwaysOne(t *testing.T) {
	b := bootBudget{limit: 2}
	for i, want := range []bool{true, true, false} {
		if got := b.take(1); got != want {
			t.Errorf("boot %d of 1 core in 2: admitted %v, want %v", i+1, got, want)
		}
	}
	big := bootBudget{limit: 2}
	if !big.take(4) {
		t.Error("a first boot larger than the budget was refused; one must always boot")
	}
	if big.take(0.5) {
		t.Error("a boot beyond the budget was admitted")
	}
}

// A launch counts against the boot budget until its guest is up: a
// booted kernel until the instance is healthy, a restored guest only
// until it is woken.
func TestAMemberBootsUntilHealthyOrUntilItsRestoredGuestIsWoken(t *testing.T) {
	for _, c := range []struct {
		m    member
		want bool
	}{
		{member{phase: launching}, true},
		{member{phase: booting}, true},
		{member{phase: booting, woken: true}, false},
		{member{phase: warming, pool: limits.PoolRunning}, true},
		{member{phase: warming, pool: limits.PoolHibernated, woken: true}, false},
		{member{phase: warming, pool: limits.PoolStopped}, false},
		{member{phase: inService}, false},
		{member{phase: warmed, pool: limits.PoolRunning}, false},
	} {
		if got := c.m.boots(); got != c.want {
			t.Errorf("%s (woken %v, pool %q): boots %v, want %v", c.m.phaseName(), c.m.woken, c.m.pool, got, c.want)
		}
	}
}
