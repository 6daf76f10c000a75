package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/vmfleet/vmfleet/pkg/stack"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// state keeps each fleet's stack in the store, one transaction a save.
type state struct{ db *store.Store }

// save stores st and leaves it holding what the store assigned (launch
// template versions, the fleet's generation).
func (s state) save(ctx context.Context, st *stack.Stack) error {
	if err := s.db.Update(ctx, func(tx *store.Tx) error { return stack.Save(tx, st) }); err != nil {
		return fmt.Errorf("save fleet %s: %w", st.Fleet.Name, err)
	}
	return nil
}

// versions stores st's launch template versions (stack.CreateVersions),
// so that its controller launches from numbered versions.
func (s state) versions(ctx context.Context, st *stack.Stack) error {
	if err := s.db.Update(ctx, func(tx *store.Tx) error { return stack.CreateVersions(tx, st) }); err != nil {
		return fmt.Errorf("save fleet %s's launch templates: %w", st.Fleet.Name, err)
	}
	return nil
}

// discard removes what a first apply of st that failed stored.
func (s state) discard(ctx context.Context, st *stack.Stack) error {
	if err := s.db.Update(ctx, func(tx *store.Tx) error { return stack.Discard(tx, st) }); err != nil {
		return fmt.Errorf("forget fleet %s: %w", st.Fleet.Name, err)
	}
	return nil
}

// has says whether the named fleet is stored.
func (s state) has(ctx context.Context, name string) bool {
	err := s.db.View(ctx, func(tx *store.Tx) error { _, err := tx.GetFleet(name); return err })
	return err == nil
}

// deleting records that the named fleet is being taken down; a fleet not
// stored (only orphans left) is no error.
func (s state) deleting(ctx context.Context, name string) error {
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		f, err := tx.GetFleet(name)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		f.Status = store.StatusDeleteInProgress
		return tx.PutFleet(&f)
	})
	if err != nil {
		return fmt.Errorf("mark fleet %s deleting: %w", name, err)
	}
	return nil
}

func (s state) remove(ctx context.Context, name string) error {
	if err := s.db.Update(ctx, func(tx *store.Tx) error { return stack.Delete(tx, name) }); err != nil {
		return fmt.Errorf("forget fleet %s: %w", name, err)
	}
	return nil
}

// load reads every fleet's stack: what the controllers run after a daemon
// restart, without reading a fleet file again.
func (s state) load(ctx context.Context) ([]stack.Stack, error) {
	var out []stack.Stack
	err := s.db.View(ctx, func(tx *store.Tx) (err error) {
		out, err = stack.LoadAll(tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read fleets: %w", err)
	}
	return out, nil
}
