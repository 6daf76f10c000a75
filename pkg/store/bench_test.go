package store

import (
	"fmt"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/limits"
)

// BenchmarkGroupUpdate is the cost of one durable write: an Update that
// puts one changed group (and so bumps its fleet).
func BenchmarkGroupUpdate(b *testing.B) {
	s, _ := openTemp(b)
	update(b, s, func(tx *Tx) error { return tx.PutFleet(&Fleet{Name: "shop"}) })
	g := Group{Name: "shop-web", Fleet: "shop", Min: 1, Max: 10,
		TerminationPolicies: []string{limits.TerminationDefault}}
	for i := 0; b.Loop(); i++ {
		g.Desired = i
		update(b, s, func(tx *Tx) error { return tx.PutGroup(&g) })
	}
}

// BenchmarkFleetView is the cost of reading a fleet and its 10 groups in
// one View.
func BenchmarkFleetView(b *testing.B) {
	s, _ := openTemp(b)
	f := Fleet{Name: "shop"}
	for i := range 10 {
		f.Groups = append(f.Groups, fmt.Sprintf("shop-svc%d", i))
	}
	update(b, s, func(tx *Tx) error {
		for _, name := range f.Groups {
			if err := tx.PutGroup(&Group{Name: name, Fleet: "shop", Desired: 2}); err != nil {
				return err
			}
		}
		return tx.PutFleet(&f)
	})
	for b.Loop() {
		view(b, s, func(tx *Tx) error {
			f, err := tx.GetFleet("shop")
			if err != nil {
				return err
			}
			for _, name := range f.Groups {
				if _, err := tx.GetGroup(name); err != nil {
					return err
				}
			}
			return nil
		})
	}
}
