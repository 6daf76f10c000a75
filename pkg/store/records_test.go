package store

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/health"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

// roundTrip puts v, reads it back by name and in the list, deletes it, and
// checks each step. After the Put, v holds what the store filled in.
func roundTrip[T record](t *testing.T, s *Store, v T,
	put func(*Tx, *T) error, get func(*Tx, string) (T, error),
	del func(*Tx, string) error, list func(*Tx) ([]T, error)) {
	t.Helper()
	name := v.recordName()
	update(t, s, func(tx *Tx) error { return put(tx, &v) })
	view(t, s, func(tx *Tx) error {
		got, err := get(tx, name)
		if err != nil || !reflect.DeepEqual(got, v) {
			t.Errorf("get %q = %+v, %v; want %+v", name, got, err, v)
		}
		all, err := list(tx)
		if err != nil || len(all) != 1 || !reflect.DeepEqual(all[0], v) {
			t.Errorf("list = %+v, %v; want just %+v", all, err, v)
		}
		return nil
	})
	update(t, s, func(tx *Tx) error { return del(tx, name) })
	view(t, s, func(tx *Tx) error {
		if _, err := get(tx, name); !errors.Is(err, ErrNotFound) {
			t.Errorf("get %q after delete: %v, want ErrNotFound", name, err)
		}
		if err := del(tx, name); !errors.Is(err, ErrNotFound) {
			t.Errorf("second delete of %q: %v, want ErrNotFound", name, err)
		}
		return nil
	})
}

func TestEveryKindRoundTrips(t *testing.T) {
	s, _ := openTemp(t)
	created := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	roundTrip(t, s, Image{Name: "web", Digest: testDigest, Created: created},
		(*Tx).PutImage, (*Tx).GetImage, (*Tx).DeleteImage, (*Tx).ListImages)
	roundTrip(t, s, LoadBalancer{Name: "shop-web", Listener: Listener{Listen: "127.0.0.1:0", Bound: "127.0.0.1:40123", TargetGroup: "shop-web"}},
		(*Tx).PutLoadBalancer, (*Tx).GetLoadBalancer, (*Tx).DeleteLoadBalancer, (*Tx).ListLoadBalancers)
	roundTrip(t, s, TargetGroup{
		Name: "shop-web",
		HealthCheck: health.Check{Type: health.TypeHTTP, Path: "/healthz", Interval: 2 * time.Second,
			Timeout: time.Second, HealthyThreshold: 2, UnhealthyThreshold: 3},
		DeregistrationDelay: 5 * time.Second, Replay: true,
	}, (*Tx).PutTargetGroup, (*Tx).GetTargetGroup, (*Tx).DeleteTargetGroup, (*Tx).ListTargetGroups)
	roundTrip(t, s, Group{
		Name: "shop-web", Fleet: "shop", Service: "web",
		LaunchTemplate: "shop-web", LaunchTemplateVersion: 3, TargetGroup: "shop-web",
		Min: 1, Max: 5, Desired: 3, FileDesired: 2,
		HealthCheckType: GroupHealthELB, HealthCheckGracePeriod: 30 * time.Second,
		TerminationPolicies: []string{limits.TerminationOldestLaunchTemplate, limits.TerminationOldestInstance},
	}, (*Tx).PutGroup, (*Tx).GetGroup, (*Tx).DeleteGroup, (*Tx).ListGroups)
	roundTrip(t, s, Fleet{Name: "shop", File: "/srv/shop/fleet.yaml", Groups: []string{"shop-db", "shop-web"}},
		(*Tx).PutFleet, (*Tx).GetFleet, (*Tx).DeleteFleet, (*Tx).ListFleets)
}

func TestGetOfAMissingRecordSaysWhichAndWrapsErrNotFound(t *testing.T) {
	s, _ := openTemp(t)
	view(t, s, func(tx *Tx) error {
		_, e1 := tx.GetImage("nope")
		_, e2 := tx.GetTargetGroup("nope")
		_, e3 := tx.GetGroup("nope")
		_, e4 := tx.GetFleet("nope")
		_, e5 := tx.GetLaunchTemplate("nope")
		_, e6 := tx.LaunchTemplateVersion("nope", 1)
		for _, err := range []error{e1, e2, e3, e4, e5, e6} {
			if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"nope"`) {
				t.Errorf("get of a missing record: %v, want ErrNotFound naming it", err)
			}
		}
		return nil
	})
}

func TestListIsSortedByName(t *testing.T) {
	s, _ := openTemp(t)
	update(t, s, func(tx *Tx) error {
		for _, n := range []string{"b", "a-1", "c", "a"} {
			if err := tx.PutTargetGroup(&TargetGroup{Name: n}); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx *Tx) error {
		all, err := tx.ListTargetGroups()
		var names []string
		for _, tg := range all {
			names = append(names, tg.Name)
		}
		if want := []string{"a", "a-1", "b", "c"}; err != nil || !slices.Equal(names, want) {
			t.Errorf("list order %v (err %v), want %v", names, err, want)
		}
		return nil
	})
}

func TestPutRefusesARecordWithoutAName(t *testing.T) {
	s, _ := openTemp(t)
	err := s.Update(t.Context(), func(tx *Tx) error { return tx.PutGroup(&Group{Fleet: "shop"}) })
	if err == nil || !strings.Contains(err.Error(), "name is empty") {
		t.Errorf("PutGroup without a name: %v, want it refused", err)
	}
}

func TestPutImageDerivesAnAMIStyleIDAndKeepsTimeInUTC(t *testing.T) {
	s, _ := openTemp(t)
	paris := time.FixedZone("CET", 3600)
	img := Image{Name: "web", Digest: testDigest, Created: time.Date(2026, 3, 1, 13, 0, 0, 0, paris)}
	update(t, s, func(tx *Tx) error { return tx.PutImage(&img) })
	view(t, s, func(tx *Tx) error {
		got, err := tx.GetImage("web")
		if err != nil {
			return err
		}
		if got.ID != "ami-0abc1234def567890" {
			t.Errorf("image ID %q, want ami- and the digest's first 17 hex digits", got.ID)
		}
		if got.Created.Location() != time.UTC || got.Created.Hour() != 12 {
			t.Errorf("created %v, want 12:00 UTC", got.Created)
		}
		return nil
	})

	err := s.Update(t.Context(), func(tx *Tx) error {
		return tx.PutImage(&Image{Name: "bad", Digest: "sha256:0abc"})
	})
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "64 lower-case hex digits") {
		t.Errorf("PutImage with a bad digest: %v, want one line saying what a digest is", err)
	}
}
