package store

import "fmt"

// ApplyFileCount sets Desired from the fleet file's count n, unless the
// file's count is the one Desired was last set from: a count set by
// `scale` stands until the file's own count changes.
func (g *Group) ApplyFileCount(n int) {
	if n == g.FileDesired {
		return
	}
	g.Desired = n
	g.FileDesired = n
}

// WarmPoolSize is how many instances g's warm pool should hold while the
// group wants desired: what the prepared capacity leaves over (the
// group's max when unset, or just MinSize for a group without scaling),
// and at least MinSize; 0 without a pool.
func (g *Group) WarmPoolSize(desired int) int {
	w := g.WarmPool
	if w == nil {
		return 0
	}
	prepared := w.MaxGroupPreparedCapacity
	if prepared < 0 {
		if !g.Scaling {
			return w.MinSize
		}
		prepared = g.Max
	}
	return max(w.MinSize, prepared-desired)
}

// GetGroup returns the group called name.
func (tx *Tx) GetGroup(name string) (Group, error) { return groups().get(tx, name) }

// PutGroup stores g under its name. A change bumps the Generation of g's
// fleet (and of the fleet g left, if it moved); a Put that changes
// nothing writes nothing.
func (tx *Tx) PutGroup(g *Group) error {
	old, found, err := groups().lookup(tx, g.Name)
	if err != nil {
		return err
	}
	if found {
		changed, err := groups().differs(tx, *g)
		if err != nil || !changed {
			return err
		}
	}
	if err := groups().put(tx, *g); err != nil {
		return err
	}
	if found && old.Fleet != g.Fleet {
		if err := tx.touchFleet(old.Fleet); err != nil {
			return err
		}
	}
	return tx.touchFleet(g.Fleet)
}

// DeleteGroup removes the group called name and bumps its fleet's
// Generation.
func (tx *Tx) DeleteGroup(name string) error {
	old, err := groups().get(tx, name)
	if err != nil {
		return fmt.Errorf("delete %w", err)
	}
	if err := groups().del(tx, name); err != nil {
		return err
	}
	return tx.touchFleet(old.Fleet)
}

// ListGroups returns every group of every fleet, sorted by name.
func (tx *Tx) ListGroups() ([]Group, error) { return groups().list(tx) }
