package store

import (
	"errors"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// Schema v3, the first with the one model of desired state: one bucket
// per kind, key = name, value = the resource's JSON; a launch template's
// versions in a nested bucket of bucketVersions named after the template,
// keyed by the version as 8 big-endian bytes; the activity history keyed
// by 8 big-endian bytes of a sequence; the schema version in bucketMeta
// as decimal text. Stores of v1 and v2 lack what a launch template and a
// group now carry (user data, egress, warm pool, load balancer) and
// nothing migrates them: vmfleet had no users to migrate yet.
const baseVersion = 3

const (
	bucketMeta          = "meta"
	bucketImages        = "images"
	bucketTemplates     = "launch_templates"
	bucketVersions      = "launch_template_versions"
	bucketTargets       = "target_groups"
	bucketGroups        = "groups"
	bucketFleets        = "fleets"
	bucketActivities    = "activities"
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

// releasedMigrations lists the steps after baseVersion in order: element
// i takes v(base+i) to v(base+i+1). Append only; a released step never
// changes. None is released yet.
func releasedMigrations() []migration { return nil }

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
	if err != nil || v < 1 {
		return 0, fmt.Errorf("schema version %q is not a version; the file is damaged or not a vmfleet store", raw)
	}
	if v < baseVersion {
		return 0, fmt.Errorf("schema version %d is from a vmfleet before v%d, whose state nothing migrates; take its fleets down with that vmfleet, or move the file aside, and run up again", v, baseVersion)
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
