package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestALaunchTemplateGetsANewVersionOnlyWhenTheLaunchChanges(t *testing.T) {
	s, _ := openTemp(t)
	v1 := LaunchTemplateVersion{ImageDigest: testDigest, Command: []string{"/web"},
		Env: map[string]string{"A": "1"}, Port: 8080, CPU: 1, MemoryBytes: 256 << 20}
	create := func(data LaunchTemplateVersion) (v int, created bool) {
		t.Helper()
		update(t, s, func(tx *Tx) (err error) {
			v, created, err = tx.CreateLaunchTemplateVersion("shop-web", data)
			return err
		})
		return v, created
	}
	if v, created := create(v1); v != 1 || !created {
		t.Errorf("first version: %d, created %v; want 1, true", v, created)
	}
	same := v1
	same.Version, same.Created = 7, time.Now()
	if v, created := create(same); v != 1 || created {
		t.Errorf("the same launch again: %d, created %v; want 1, false", v, created)
	}
	more := v1
	more.CPU = 2
	if v, created := create(more); v != 2 || !created {
		t.Errorf("a changed CPU: %d, created %v; want 2, true", v, created)
	}

	view(t, s, func(tx *Tx) error {
		lt, err := tx.GetLaunchTemplate("shop-web")
		if err != nil || lt.LatestVersion != 2 || lt.DefaultVersion != 1 {
			t.Errorf("template %+v (err %v), want latest 2 and default 1", lt, err)
		}
		old, err := tx.LaunchTemplateVersion("shop-web", 1)
		if err != nil || old.CPU != 1 || old.Version != 1 || old.Template != "shop-web" || old.Created.IsZero() {
			t.Errorf("version 1 reads %+v (err %v), want the first launch, stamped", old, err)
		}
		for _, v := range []int{0, 3} {
			if _, err := tx.LaunchTemplateVersion("shop-web", v); !errors.Is(err, ErrNotFound) {
				t.Errorf("version %d: %v, want ErrNotFound", v, err)
			}
		}
		return nil
	})
}

func TestAnEmptyAndANilEnvAreTheSameLaunch(t *testing.T) {
	s, _ := openTemp(t)
	update(t, s, func(tx *Tx) error {
		if _, _, err := tx.CreateLaunchTemplateVersion("t", LaunchTemplateVersion{CPU: 1}); err != nil {
			return err
		}
		v, created, err := tx.CreateLaunchTemplateVersion("t", LaunchTemplateVersion{CPU: 1, Env: map[string]string{}, Command: []string{}})
		if v != 1 || created {
			t.Errorf("empty env and command after nil ones gave version %d, created %v", v, created)
		}
		return err
	})
}

// twoVersions opens a store holding launch template "t" at versions 1
// (one CPU) and 2 (two).
func twoVersions(t *testing.T) *Store {
	t.Helper()
	s, _ := openTemp(t)
	update(t, s, func(tx *Tx) error {
		for _, cpu := range []float64{1, 2} {
			if _, _, err := tx.CreateLaunchTemplateVersion("t", LaunchTemplateVersion{CPU: cpu}); err != nil {
				return err
			}
		}
		return nil
	})
	return s
}

func TestTheDefaultVersionMovesOnlyToAVersionThatExists(t *testing.T) {
	s := twoVersions(t)
	update(t, s, func(tx *Tx) error {
		if err := tx.SetDefaultLaunchTemplateVersion("t", 9); !errors.Is(err, ErrNotFound) {
			t.Errorf("default to a missing version: %v, want ErrNotFound", err)
		}
		return tx.SetDefaultLaunchTemplateVersion("t", 2)
	})
	view(t, s, func(tx *Tx) error {
		lt, err := tx.GetLaunchTemplate("t")
		if lt.DefaultVersion != 2 {
			t.Errorf("default version %d, want 2", lt.DefaultVersion)
		}
		return err
	})
}

func TestDeletingALaunchTemplateDeletesItsVersions(t *testing.T) {
	s := twoVersions(t)
	update(t, s, func(tx *Tx) error { return tx.DeleteLaunchTemplate("t") })
	view(t, s, func(tx *Tx) error {
		if _, err := tx.GetLaunchTemplate("t"); !errors.Is(err, ErrNotFound) {
			t.Errorf("get after delete: %v, want ErrNotFound", err)
		}
		if _, err := tx.LaunchTemplateVersion("t", 1); !errors.Is(err, ErrNotFound) {
			t.Errorf("version 1 after delete: %v, want ErrNotFound", err)
		}
		return nil
	})
	update(t, s, func(tx *Tx) error {
		v, created, err := tx.CreateLaunchTemplateVersion("t", LaunchTemplateVersion{CPU: 2})
		if v != 1 || !created {
			t.Errorf("a template made again starts at version %d (created %v), want 1", v, created)
		}
		return err
	})
}

func TestEC2sCreateLaunchTemplateRefusesANameTakenAndItsVersionsAreAlwaysNew(t *testing.T) {
	s, _ := openTemp(t)
	data := LaunchTemplateVersion{ImageDigest: testDigest, InstanceType: "t3.micro", CPU: 0.2, MemoryBytes: 1 << 30}
	update(t, s, func(tx *Tx) error {
		return tx.NewLaunchTemplate(LaunchTemplate{Name: "web", Tags: map[string]string{"team": "a"}}, data)
	})
	err := s.Update(context.Background(), func(tx *Tx) error { return tx.NewLaunchTemplate(LaunchTemplate{Name: "web"}, data) })
	if !errors.Is(err, ErrExists) {
		t.Fatalf("a second create of web: %v, want ErrExists", err)
	}
	update(t, s, func(tx *Tx) error {
		v, err := tx.AddLaunchTemplateVersion("web", data)
		if v != 2 {
			t.Errorf("the same data again made version %d, want 2 (EC2 always makes one)", v)
		}
		return err
	})
	err = s.Update(context.Background(), func(tx *Tx) error { _, err := tx.AddLaunchTemplateVersion("nope", data); return err })
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("a version of a template that does not exist: %v", err)
	}
	view(t, s, func(tx *Tx) error {
		lt, err := tx.GetLaunchTemplate("web")
		if err != nil || len(lt.ID) != len("lt-")+17 || lt.Tags["team"] != "a" || lt.LatestVersion != 2 || lt.DefaultVersion != 1 {
			t.Errorf("template %+v (err %v)", lt, err)
		}
		vs, err := tx.ListLaunchTemplateVersions("web")
		if err != nil || len(vs) != 2 || vs[0].Version != 1 || vs[1].Version != 2 || vs[1].InstanceType != "t3.micro" {
			t.Errorf("versions %+v (err %v)", vs, err)
		}
		return nil
	})
}
