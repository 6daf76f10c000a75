package daemon

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/controller"
	"github.com/vmfleet/vmfleet/pkg/stack"
	"github.com/vmfleet/vmfleet/pkg/store"
)

func stored(t *testing.T, s state, name string) stack.Stack {
	t.Helper()
	var st stack.Stack
	err := s.db.View(context.Background(), func(tx *store.Tx) (err error) {
		st, err = stack.Load(tx, name)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// A controller's counts are saved aside; landing after an up saved a
// newer launch template, they must not put the older one back.
func TestAControllersCountsLandOnTheStackAsStoredNow(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, ctx := state{db: db}, context.Background()
	digests := map[string]string{"web": strings.Repeat("a", 64)}
	v1 := stack.Compile(parsed(t, base), digests, 0)
	if err := s.save(ctx, &v1); err != nil {
		t.Fatal(err)
	}
	v2 := stack.Compile(parsed(t, base+"    cpu: 0.5\n"), digests, 0) // an up meanwhile
	v2.Inherit(&v1)
	if err := s.save(ctx, &v2); err != nil {
		t.Fatal(err)
	}
	if err := s.counts(ctx, "shop", controller.State{Fleet: "shop", Desired: map[string]int{"web": 5}, Protected: map[string][]string{"web": {"i-1"}}}); err != nil {
		t.Fatal(err)
	}
	got := stored(t, s, "shop").Services[0]
	if got.LaunchTemplate.CPU != 0.5 || got.Group.LaunchTemplateVersion != 2 {
		t.Errorf("the counts' save put back launch template version %d (cpu %g), want the up's 2 (cpu 0.5)", got.Group.LaunchTemplateVersion, got.LaunchTemplate.CPU)
	}
	if got.Group.Desired != 5 || len(got.Group.ProtectedFromScaleIn) != 1 {
		t.Errorf("desired %d, protected %v: want the controller's 5 and [i-1]", got.Group.Desired, got.Group.ProtectedFromScaleIn)
	}
}

func TestCountsOfAFleetTakenDownMeanwhileStoreNothing(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, ctx := state{db: db}, context.Background()
	if err := s.counts(ctx, "gone", controller.State{Fleet: "gone", Desired: map[string]int{"web": 2}}); err != nil {
		t.Fatal(err)
	}
	err = db.View(ctx, func(tx *store.Tx) error { _, err := tx.GetFleet("gone"); return err })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a fleet taken down came back: %v", err)
	}
}
