package store

import (
	"errors"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// Schema v1 (today's): one bucket per kind, key = name, value = the
// resource's JSON; a launch template's versions in a nested bucket of
// bucketVersions named after the template, keyed by the version as 8
// big-endian bytes; the schema version in bucketMeta as decimal text.
const baseVersion = 1

const (
	bucketMeta      = "meta"
	bucketImages    = "images"
	bucketTemplates = "launch_templates"
	bucketVersions  = "launch_template_versions"
	bucketTargets   = "target_groups"
	bucketGroups    = "groups"
	bucketFleets    = "fleets"
	// v2: the activity history, keyed by 8 big-endian bytes of a sequence.
	bucketActivities = "activities"
	// Load balancers and their listeners; made on open, no data to move.
	bucketLoadBalancers = "load_balancers"

	keySchemaVersion = "schema_version"
)

// kindBuckets are the buckets of the current schema's resources.
func kindBuckets() []string {
	return []string{bucketImages, bucketTemplates, bucketVersions, bucketTargets, bucketLoadBalancers, bucketGroups, bucketFleets, bucketActivities}
}

// A migration takes the schema from one version to the next inside one
// transaction; the version bump commits with it, so a failed step leaves
// the file at the version before it.
type migration struct {
	name  string
	apply func(*bolt.Tx) error
}

// releasedMigrations lists the steps after v1 in order: element i takes
// v(i+1) to v(i+2). Append only; a released step never changes.
func releasedMigrations() []migration {
	return []migration{
		{name: "the activity history", apply: func(tx *bolt.Tx) error {
			_, err := tx.CreateBucketIfNotExists([]byte(bucketActivities))
			return err
		}},
	}
}

// prepare brings db to the schema version ms lead to: it stamps a new file
// with it, refuses a newer one, and migrates an older one step by step.
func prepare(db *bolt.DB, ms []migration) error {
	latest := baseVersion + len(ms)
	var have int
	err := db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket([]byte(bucketMeta))
		if meta == nil {
			if k, _ := tx.Cursor().First(); k != nil {
				return errors.New("the file has data but no schema version, so it is not a vmfleet store; move it aside")
			}
			have = latest
			return writeVersion(tx, latest)
		}
		var err error
		have, err = readVersion(meta)
		return err
	})
	if err != nil {
		return err
	}
	if have > latest {
		return fmt.Errorf("schema version %d is newer than this vmfleet knows (%d); run a newer vmfleet", have, latest)
	}
	for v := have; v < latest; v++ {
		m := ms[v-baseVersion]
		err := db.Update(func(tx *bolt.Tx) error {
			if err := m.apply(tx); err != nil {
				return err
			}
			return writeVersion(tx, v+1)
		})
		if err != nil {
			return fmt.Errorf("migrate schema v%d to v%d (%s): %w", v, v+1, m.name, err)
		}
	}
	return db.Update(func(tx *bolt.Tx) error {
		for _, b := range kindBuckets() {
			if _, err := tx.CreateBucketIfNotExists([]byte(b)); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		return nil
	})
}

func readVersion(meta *bolt.Bucket) (int, error) {
	raw := meta.Get([]byte(keySchemaVersion))
	v, err := strconv.Atoi(string(raw))
	if err != nil || v < baseVersion {
		return 0, fmt.Errorf("schema version %q is not a version; the file is damaged or not a vmfleet store", raw)
	}
	return v, nil
}

func writeVersion(tx *bolt.Tx, v int) error {
	meta, err := tx.CreateBucketIfNotExists([]byte(bucketMeta))
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketMeta, err)
	}
	if err := meta.Put([]byte(keySchemaVersion), []byte(strconv.Itoa(v))); err != nil {
		return fmt.Errorf("write schema version: %w", err)
	}
	return nil
}
