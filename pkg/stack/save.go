package stack

import (
	"errors"
	"fmt"
	"slices"

	"github.com/vmfleet/vmfleet/pkg/store"
)

// Save stores st in tx: for each service a launch template version (a new
// one, made the default, only when what it launches changed), its target
// group, its group and its image (an AMI named after the service), then
// the fleet. Services the stored fleet had and st has not lose their
// resources. st is left holding what the store assigned: version numbers
// and the fleet's generation.
func Save(tx *store.Tx, st *Stack) error {
	if err := deleteGone(tx, st); err != nil {
		return err
	}
	if err := CreateVersions(tx, st); err != nil {
		return err
	}
	for i := range st.Services {
		s := &st.Services[i]
		name := s.Group.Name
		v := s.LaunchTemplate.Version
		if err := tx.SetDefaultLaunchTemplateVersion(name, v); err != nil {
			return err
		}
		s.Group.LaunchTemplateVersion = v
		if err := tx.PutTargetGroup(&s.TargetGroup); err != nil {
			return err
		}
		if err := tx.PutLoadBalancer(&s.LoadBalancer); err != nil {
			return err
		}
		if err := tx.PutGroup(&s.Group); err != nil {
			return err
		}
		if dg := s.LaunchTemplate.ImageDigest; dg != "" {
			if err := tx.PutImage(&store.Image{Name: name, Digest: dg}); err != nil {
				return err
			}
		}
	}
	return tx.PutFleet(&st.Fleet)
}

// CreateVersions stores a launch template version for each service whose
// launch template changed since the latest (CreateLaunchTemplateVersion
// makes none for an unchanged one) and leaves st's launch templates
// holding their version numbers. The groups are not moved to them: that
// is Save's. So a controller can launch from a version before the rest
// of the stack is saved, as AWS creates a version before a group uses it.
func CreateVersions(tx *store.Tx, st *Stack) error {
	for i := range st.Services {
		s := &st.Services[i]
		name := s.Group.Name
		v, _, err := tx.CreateLaunchTemplateVersion(name, s.LaunchTemplate)
		if err != nil {
			return err
		}
		if s.LaunchTemplate, err = tx.LaunchTemplateVersion(name, v); err != nil {
			return err
		}
	}
	return nil
}

func deleteGone(tx *store.Tx, st *Stack) error {
	old, err := tx.GetFleet(st.Fleet.Name)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, g := range old.Groups {
		if !slices.Contains(st.Fleet.Groups, g) {
			if err := deleteService(tx, g); err != nil {
				return err
			}
		}
	}
	return nil
}

// Delete removes the named fleet and all its resources; a fleet not
// stored is no error.
func Delete(tx *store.Tx, name string) error {
	f, err := tx.GetFleet(name)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, g := range f.Groups {
		if err := deleteService(tx, g); err != nil {
			return err
		}
	}
	return tx.DeleteFleet(name)
}

// Discard removes whatever of st is stored, by its services' names: what
// a first apply that failed half way (its launch templates created, its
// balancers refused an address) leaves behind.
func Discard(tx *store.Tx, st *Stack) error {
	for _, s := range st.Services {
		if err := deleteService(tx, s.Group.Name); err != nil {
			return err
		}
	}
	if err := tx.DeleteFleet(st.Fleet.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

func deleteService(tx *store.Tx, name string) error {
	for _, del := range []func(string) error{tx.DeleteGroup, tx.DeleteLoadBalancer, tx.DeleteTargetGroup, tx.DeleteLaunchTemplate, tx.DeleteImage} {
		if err := del(name); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// Load reads the named fleet's stack.
func Load(tx *store.Tx, name string) (Stack, error) {
	f, err := tx.GetFleet(name)
	if err != nil {
		return Stack{}, err
	}
	st := Stack{Fleet: f}
	for _, name := range f.Groups {
		g, err := tx.GetGroup(name)
		if err != nil {
			return st, fmt.Errorf("fleet %s: %w", f.Name, err)
		}
		lt, err := tx.LaunchTemplateVersion(g.LaunchTemplate, g.LaunchTemplateVersion)
		if err != nil {
			return st, fmt.Errorf("fleet %s: %w", f.Name, err)
		}
		tg, err := tx.GetTargetGroup(g.TargetGroup)
		if err != nil {
			return st, fmt.Errorf("fleet %s: %w", f.Name, err)
		}
		lb, err := tx.GetLoadBalancer(g.LoadBalancer)
		if err != nil {
			return st, fmt.Errorf("fleet %s: %w", f.Name, err)
		}
		st.Services = append(st.Services, Service{Name: g.Service, LaunchTemplate: lt, Group: g, TargetGroup: tg, LoadBalancer: lb})
	}
	return st, nil
}

// LoadAll reads every fleet's stack, sorted by name.
func LoadAll(tx *store.Tx) ([]Stack, error) {
	fleets, err := tx.ListFleets()
	if err != nil {
		return nil, err
	}
	out := make([]Stack, 0, len(fleets))
	for _, f := range fleets {
		st, err := Load(tx, f.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}
