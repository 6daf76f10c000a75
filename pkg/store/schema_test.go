package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// writeAt writes by hand a store of schema version v holding one
// group with 2 desired.
func writeAt(t *testing.T, v int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	writeRaw(t, path, func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket([]byte(bucketMeta))
		meta.Put([]byte(keySchemaVersion), []byte(strconv.Itoa(v)))
		for _, b := range kindBuckets() {
			tx.CreateBucket([]byte(b))
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
	if v := rawVersion(t, path); v != strconv.Itoa(baseVersion) {
		t.Errorf("new store has schema version %q, want %d", v, baseVersion)
	}
}

// A store from before the one model of desired state is refused, with
// what to do, rather than read with its user data and egress missing.
func TestAStoreFromBeforeTheBaseSchemaIsRefusedWithWhatToDo(t *testing.T) {
	for v := 1; v < baseVersion; v++ {
		s, err := Open(writeAt(t, v))
		if err == nil {
			s.Close()
			t.Fatalf("a v%d store opened", v)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("schema version %d is from a vmfleet before", v)) || !strings.Contains(err.Error(), "move the file aside") {
			t.Errorf("v%d: %v", v, err)
		}
	}
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
	if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("schema version 99 is newer than this vmfleet knows (%d)", baseVersion)) {
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
	path := writeAt(t, baseVersion)
	var ran []string
	steps := []migration{
		{"double desired", func(tx *bolt.Tx) error { ran = append(ran, "v3→v4"); return doubleDesired(tx) }},
		{"no-op", func(tx *bolt.Tx) error { ran = append(ran, "v4→v5"); return nil }},
	}
	s, err := Open(path, withMigrations(steps))
	if err != nil {
		t.Fatalf("Open of a v3 store: %v", err)
	}
	view(t, s, func(tx *Tx) error {
		g, err := tx.GetGroup("shop-web")
		if err != nil || g.Desired != 4 {
			t.Errorf("after migration group is %+v (err %v), want desired 4", g, err)
		}
		return nil
	})
	s.Close()
	if want := []string{"v3→v4", "v4→v5"}; !slices.Equal(ran, want) {
		t.Errorf("migration steps ran %v, want %v", ran, want)
	}
	if v := rawVersion(t, path); v != "5" {
		t.Errorf("migrated store has version %q, want 5", v)
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
	path := writeAt(t, baseVersion)
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
	if !errors.Is(err, broken) || !strings.Contains(err.Error(), "migrate schema v4 to v5 (half done)") {
		t.Errorf("Open with a failing step: %v, want it to name the step", err)
	}
	if v := rawVersion(t, path); v != "4" {
		t.Errorf("after a failed v4→v5 step the version is %q, want 4", v)
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
	if v := rawVersion(t, path); v != "5" {
		t.Errorf("version %q after the fixed step, want 5", v)
	}
}
