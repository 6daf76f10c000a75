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
//
// A stack from the AWS API (Fleet.FromAPI) owns only its group: its
// launch template, target group and load balancer are resources of their
// own, which Save leaves as they are but for the address the listener is
// bound to.
func Save(tx *store.Tx, st *Stack) error {
	if st.Fleet.FromAPI() {
		return saveGroups(tx, st)
	}
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

func saveGroups(tx *store.Tx, st *Stack) error {
	for i := range st.Services {
		s := &st.Services[i]
		if s.Group.LoadBalancer != "" {
			lb, err := tx.GetLoadBalancer(s.Group.LoadBalancer)
			if err != nil {
				return err
			}
			lb.Listener.Bound = s.LoadBalancer.Listener.Bound
			if err := tx.PutLoadBalancer(&lb); err != nil {
				return err
			}
		}
		if err := tx.PutGroup(&s.Group); err != nil {
			return err
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
		if err := deleteOwned(tx, &f, g); err != nil {
			return err
		}
	}
	return tx.DeleteFleet(name)
}

// deleteOwned removes what a fleet owns of its group g: all its
// resources, or an API group's group alone.
func deleteOwned(tx *store.Tx, f *store.Fleet, g string) error {
	if f.FromAPI() {
		if err := tx.DeleteGroup(g); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	}
	return deleteService(tx, g)
}

// Discard removes whatever of st is stored, by its services' names: what
// a first apply that failed half way (its launch templates created, its
// balancers refused an address) leaves behind.
func Discard(tx *store.Tx, st *Stack) error {
	for _, s := range st.Services {
		if err := deleteOwned(tx, &st.Fleet, s.Group.Name); err != nil {
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
		// An API group may have no target group, or one no listener
		// forwards to yet.
		var tg store.TargetGroup
		var lb store.LoadBalancer
		if g.TargetGroup != "" {
			if tg, err = tx.GetTargetGroup(g.TargetGroup); err != nil {
				return st, fmt.Errorf("fleet %s: %w", f.Name, err)
			}
		}
		if g.LoadBalancer != "" {
			if lb, err = tx.GetLoadBalancer(g.LoadBalancer); err != nil {
				return st, fmt.Errorf("fleet %s: %w", f.Name, err)
			}
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
