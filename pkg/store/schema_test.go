package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// writeV1 writes by hand a v1 store holding one group with 2 desired.
func writeV1(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	writeRaw(t, path, func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket([]byte(bucketMeta))
		meta.Put([]byte(keySchemaVersion), []byte("1"))
		for _, b := range []string{bucketImages, bucketTemplates, bucketVersions, bucketTargets, bucketGroups, bucketFleets} {
			tx.CreateBucket([]byte(b)) // v1's buckets: no activity history yet
		}
		return tx.Bucket([]byte(bucketGroups)).Put([]byte("shop-web"),
			[]byte(`{"name":"shop-web","fleet":"shop","service":"web","desired":2}`))
	})
	return path
}

// doubleDesired is a test migration: it doubles every group's Desired.
func doubleDesired(tx *bolt.Tx) error {
	b := tx.Bucket([]byte(bucketGroups))
	return b.ForEach(func(k, v []byte) error {
		var g Group
		if err := json.Unmarshal(v, &g); err != nil {
			return err
		}
		g.Desired *= 2
		raw, _ := json.Marshal(g)
		return b.Put(k, raw)
	})
}

func TestOpenStampsANewFileWithTheCurrentSchemaVersion(t *testing.T) {
	s, path := openTemp(t)
	s.Close()
	if v := rawVersion(t, path); v != "2" {
		t.Errorf("new store has schema version %q, want 2", v)
	}
}

// A store written by the first release (v1: no activity history) opens,
// keeps its resources and gains the history.
func TestAV1StoreIsMigratedToTheActivityHistory(t *testing.T) {
	path := writeV1(t)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	update(t, s, func(tx *Tx) error { return tx.AppendActivities([]api.Event{{Kind: "launched"}}, 10) })
	view(t, s, func(tx *Tx) error {
		if _, err := tx.GetGroup("shop-web"); err != nil {
			return err
		}
		evs, err := tx.Activities(10)
		if err == nil && len(evs) != 1 {
			err = fmt.Errorf("%d activities, want 1", len(evs))
		}
		return err
	})
}

func TestOpenRefusesASchemaNewerThanItKnows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	writeRaw(t, path, func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket([]byte(bucketMeta))
		return meta.Put([]byte(keySchemaVersion), []byte("99"))
	})
	s, err := Open(path)
	if err == nil {
		s.Close()
		t.Fatal("Open of a v99 store succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, "schema version 99 is newer than this vmfleet knows (2)") {
		t.Errorf("Open of a v99 store: %v", err)
	}
	if v := rawVersion(t, path); v != "99" {
		t.Errorf("a refused store's version became %q", v)
	}
}

func TestOpenRefusesAFileWithDataButNoSchemaVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	writeRaw(t, path, func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte("someone-elses"))
		return err
	})
	if s, err := Open(path); err == nil || !strings.Contains(err.Error(), "not a vmfleet store") {
		if s != nil {
			s.Close()
		}
		t.Errorf("Open of a foreign bbolt file: %v, want it refused as not a vmfleet store", err)
	}
}

func TestOpenMigratesAnOlderSchemaStepByStepAndOnlyOnce(t *testing.T) {
	path := writeV1(t)
	var ran []string
	steps := []migration{
		{"double desired", func(tx *bolt.Tx) error { ran = append(ran, "v1→v2"); return doubleDesired(tx) }},
		{"no-op", func(tx *bolt.Tx) error { ran = append(ran, "v2→v3"); return nil }},
	}
	s, err := Open(path, withMigrations(steps))
	if err != nil {
		t.Fatalf("Open of a v1 store: %v", err)
	}
	view(t, s, func(tx *Tx) error {
		g, err := tx.GetGroup("shop-web")
		if err != nil || g.Desired != 4 {
			t.Errorf("after migration group is %+v (err %v), want desired 4", g, err)
		}
		return nil
	})
	s.Close()
	if want := []string{"v1→v2", "v2→v3"}; !slices.Equal(ran, want) {
		t.Errorf("migration steps ran %v, want %v", ran, want)
	}
	if v := rawVersion(t, path); v != "3" {
		t.Errorf("migrated store has version %q, want 3", v)
	}

	s, err = Open(path, withMigrations(steps))
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	s.Close()
	if len(ran) != 2 {
		t.Errorf("reopening a migrated store ran steps again: %v", ran)
	}
}

func TestAFailedMigrationStepLeavesTheFileAtTheVersionBeforeIt(t *testing.T) {
	path := writeV1(t)
	broken := errors.New("broken step")
	steps := []migration{
		{"double desired", doubleDesired},
		{"half done", func(tx *bolt.Tx) error {
			tx.Bucket([]byte(bucketGroups)).Put([]byte("half"), []byte(`{"name":"half"}`))
			return broken
		}},
	}
	s, err := Open(path, withMigrations(steps))
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded though a migration step failed")
	}
	if !errors.Is(err, broken) || !strings.Contains(err.Error(), "migrate schema v2 to v3 (half done)") {
		t.Errorf("Open with a failing step: %v, want it to name the step", err)
	}
	if v := rawVersion(t, path); v != "2" {
		t.Errorf("after a failed v2→v3 step the version is %q, want 2", v)
	}
	readRaw(t, path, func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketGroups))
		if b.Get([]byte("half")) != nil {
			t.Error("the failed step's write was kept")
		}
		if !strings.Contains(string(b.Get([]byte("shop-web"))), `"desired":4`) {
			t.Errorf("the step before the failed one was lost: %s", b.Get([]byte("shop-web")))
		}
		return nil
	})

	// The failed Open let go of the file; a fixed vmfleet finishes the job.
	steps[1].apply = func(*bolt.Tx) error { return nil }
	s, err = Open(path, withMigrations(steps), WithLockTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatalf("Open after fixing the step: %v", err)
	}
	s.Close()
	if v := rawVersion(t, path); v != "3" {
		t.Errorf("version %q after the fixed step, want 3", v)
	}
}
