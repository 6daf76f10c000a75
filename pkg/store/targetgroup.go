package store

// GetTargetGroup returns the target group called name.
func (tx *Tx) GetTargetGroup(name string) (TargetGroup, error) { return targetGroups().get(tx, name) }

// PutTargetGroup stores tg under its name.
func (tx *Tx) PutTargetGroup(tg *TargetGroup) error { return targetGroups().put(tx, *tg) }

// DeleteTargetGroup removes the target group called name.
func (tx *Tx) DeleteTargetGroup(name string) error { return targetGroups().del(tx, name) }

// ListTargetGroups returns every target group, sorted by name.
func (tx *Tx) ListTargetGroups() ([]TargetGroup, error) { return targetGroups().list(tx) }
