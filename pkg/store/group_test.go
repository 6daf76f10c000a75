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
