package store

// GetFleet returns the fleet called name.
func (tx *Tx) GetFleet(name string) (Fleet, error) { return fleets().get(tx, name) }

// PutFleet stores f under its name. The store keeps f's Generation and
// Updated: a change bumps them, a Put that changes nothing writes nothing.
// Either way f is left holding the stored values.
func (tx *Tx) PutFleet(f *Fleet) error {
	old, found, err := fleets().lookup(tx, f.Name)
	if err != nil {
		return err
	}
	f.Generation, f.Updated = old.Generation, old.Updated
	if found {
		changed, err := fleets().differs(tx, *f)
		if err != nil || !changed {
			return err
		}
	}
	f.Generation++
	f.Updated = now()
	return fleets().put(tx, *f)
}

// DeleteFleet removes the fleet called name. Its groups stay; deleting
// them too is the caller's choice, in the same Update.
func (tx *Tx) DeleteFleet(name string) error { return fleets().del(tx, name) }

// ListFleets returns every fleet, sorted by name.
func (tx *Tx) ListFleets() ([]Fleet, error) { return fleets().list(tx) }

// touchFleet records a change to one of the fleet's groups. A group whose
// fleet is not stored (yet) touches nothing: the fleet's own first Put
// counts as a change.
func (tx *Tx) touchFleet(name string) error {
	f, found, err := fleets().lookup(tx, name)
	if err != nil || !found {
		return err
	}
	f.Generation++
	f.Updated = now()
	return fleets().put(tx, f)
}
