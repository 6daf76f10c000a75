package store

import "testing"

func TestAScaledCountStandsUntilTheFileCountChanges(t *testing.T) {
	var g Group
	g.ApplyFileCount(3)
	if g.Desired != 3 {
		t.Fatalf("a new group from a file count of 3 wants %d", g.Desired)
	}
	g.Desired = 5 // vmfleet scale
	g.ApplyFileCount(3)
	if g.Desired != 5 {
		t.Errorf("the unchanged file count 3 overrode the scaled count: desired %d, want 5", g.Desired)
	}
	g.ApplyFileCount(4)
	if g.Desired != 4 || g.FileDesired != 4 {
		t.Errorf("after the file count changed to 4: desired %d file %d, want 4 and 4", g.Desired, g.FileDesired)
	}
}

func TestFleetGenerationCountsChangesToTheFleetAndItsGroups(t *testing.T) {
	s, _ := openTemp(t)
	gen := func(fleet string) int64 {
		t.Helper()
		var f Fleet
		view(t, s, func(tx *Tx) (err error) { f, err = tx.GetFleet(fleet); return err })
		return f.Generation
	}
	web := Group{Name: "shop-web", Fleet: "shop", Desired: 2}
	steps := []struct {
		what string
		do   func(*Tx) error
		want int64
	}{
		{"first put", func(tx *Tx) error { return tx.PutFleet(&Fleet{Name: "shop", File: "/a"}) }, 1},
		{"same fleet again", func(tx *Tx) error { return tx.PutFleet(&Fleet{Name: "shop", File: "/a"}) }, 1},
		{"new group", func(tx *Tx) error { return tx.PutGroup(&web) }, 2},
		{"same group again", func(tx *Tx) error { return tx.PutGroup(&web) }, 2},
		{"group scaled", func(tx *Tx) error { g := web; g.Desired = 3; return tx.PutGroup(&g) }, 3},
		{"group deleted", func(tx *Tx) error { return tx.DeleteGroup("shop-web") }, 4},
		{"fleet file moved", func(tx *Tx) error { return tx.PutFleet(&Fleet{Name: "shop", File: "/b"}) }, 5},
	}
	for _, st := range steps {
		update(t, s, st.do)
		if got := gen("shop"); got != st.want {
			t.Errorf("after %s generation is %d, want %d", st.what, got, st.want)
		}
	}

	update(t, s, func(tx *Tx) error {
		if err := tx.PutFleet(&Fleet{Name: "blog"}); err != nil {
			return err
		}
		return tx.PutGroup(&web)
	})
	update(t, s, func(tx *Tx) error { g := web; g.Fleet = "blog"; return tx.PutGroup(&g) })
	if shop, blog := gen("shop"), gen("blog"); shop != 7 || blog != 2 {
		t.Errorf("moving a group from shop to blog left generations %d and %d, want 7 and 2", shop, blog)
	}
}

// The pool holds what the prepared capacity leaves over beside the
// group, never less than min_size; unset, the capacity is the group's
// max, and a group without scaling keeps just min_size.
func TestWarmPoolSizeFollowsPreparedCapacity(t *testing.T) {
	for _, tc := range []struct {
		name         string
		pool         WarmPool
		desired, max int
		scaled       bool
		want         int
	}{
		{"capacity minus desired", WarmPool{MinSize: 1, MaxGroupPreparedCapacity: 6}, 2, 10, true, 4},
		{"never below min_size", WarmPool{MinSize: 3, MaxGroupPreparedCapacity: 4}, 3, 10, true, 3},
		{"unset capacity is the group max", WarmPool{MinSize: 0, MaxGroupPreparedCapacity: -1}, 2, 5, true, 3},
		{"unset capacity without scaling is min_size", WarmPool{MinSize: 2, MaxGroupPreparedCapacity: -1}, 1, 100, false, 2},
		{"group at capacity", WarmPool{MinSize: 0, MaxGroupPreparedCapacity: 3}, 3, 10, true, 0},
	} {
		g := Group{Max: tc.max, Scaling: tc.scaled, WarmPool: &tc.pool}
		if got := g.WarmPoolSize(tc.desired); got != tc.want {
			t.Errorf("%s: %+v at desired %d max %d: pool %d, want %d", tc.name, tc.pool, tc.desired, tc.max, got, tc.want)
		}
	}
	if n := (&Group{Max: 5}).WarmPoolSize(1); n != 0 {
		t.Errorf("a group without a pool: pool %d, want 0", n)
	}
}
