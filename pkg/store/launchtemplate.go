package store

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// GetLaunchTemplate returns the launch template called name.
func (tx *Tx) GetLaunchTemplate(name string) (LaunchTemplate, error) {
	return templates().get(tx, name)
}

// PutLaunchTemplate stores lt's own fields (its tags), which must name a
// launch template that exists: versions are made by the Create calls.
func (tx *Tx) PutLaunchTemplate(lt *LaunchTemplate) error {
	cur, err := templates().get(tx, lt.Name)
	if err != nil {
		return err
	}
	if lt.DefaultVersion != cur.DefaultVersion || lt.LatestVersion != cur.LatestVersion {
		return fmt.Errorf("put launch template %q: its versions changed meanwhile", lt.Name)
	}
	return templates().put(tx, *lt)
}

// ListLaunchTemplates returns every launch template, sorted by name.
func (tx *Tx) ListLaunchTemplates() ([]LaunchTemplate, error) { return templates().list(tx) }

// Ref names the version as an instance records what it was launched
// from: "template:version".
func (v LaunchTemplateVersion) Ref() string { return fmt.Sprintf("%s:%d", v.Template, v.Version) }

// CreateLaunchTemplateVersion records data as the next version of the
// launch template called name, creating the template (at version 1) if it
// does not exist. When data says the same as the latest version (Version,
// Created and Template aside) nothing is written, and the latest version
// is returned with created false: asking twice for the same launch yields
// one version, as a fleet applied twice must.
func (tx *Tx) CreateLaunchTemplateVersion(name string, data LaunchTemplateVersion) (version int, created bool, err error) {
	return tx.putVersion(name, data, true)
}

// AddLaunchTemplateVersion records data as the next version of the
// existing launch template called name, whatever it says: EC2's
// CreateLaunchTemplateVersion.
func (tx *Tx) AddLaunchTemplateVersion(name string, data LaunchTemplateVersion) (int, error) {
	if _, err := templates().get(tx, name); err != nil {
		return 0, err
	}
	v, _, err := tx.putVersion(name, data, false)
	return v, err
}

// NewLaunchTemplate creates the launch template lt.Name with data as its
// version 1, or fails with ErrExists: EC2's CreateLaunchTemplate.
func (tx *Tx) NewLaunchTemplate(lt LaunchTemplate, data LaunchTemplateVersion) error {
	if _, found, err := templates().lookup(tx, lt.Name); err != nil || found {
		if found {
			err = fmt.Errorf("launch template %q: %w", lt.Name, ErrExists)
		}
		return err
	}
	lt.DefaultVersion, lt.LatestVersion = 1, 0
	if err := templates().put(tx, lt); err != nil {
		return err
	}
	_, _, err := tx.putVersion(lt.Name, data, false)
	return err
}

func (tx *Tx) putVersion(name string, data LaunchTemplateVersion, dedupe bool) (version int, created bool, err error) {
	if name == "" {
		return 0, false, errors.New("create launch template version: the template name is empty; give the template a name")
	}
	lt, found, err := templates().lookup(tx, name)
	if err != nil {
		return 0, false, err
	}
	data.Template = name
	if found && dedupe {
		latest, err := tx.LaunchTemplateVersion(name, lt.LatestVersion)
		if err != nil && !errors.Is(err, ErrNotFound) { // deleted: not the same
			return 0, false, err
		}
		if err == nil {
			same, err := sameLaunch(latest, data)
			if err != nil || same {
				return lt.LatestVersion, false, err
			}
		}
	} else if !found {
		lt = LaunchTemplate{Name: name, DefaultVersion: 1}
	}
	if lt.ID == "" {
		lt.ID = NewLaunchTemplateID()
	}
	lt.LatestVersion++
	data.Version = lt.LatestVersion
	data.Created = now()
	raw, err := json.Marshal(data)
	if err != nil {
		return 0, false, fmt.Errorf("encode launch template %q version %d: %w", name, data.Version, err)
	}
	vb, err := tx.bucket(bucketVersions).CreateBucketIfNotExists([]byte(name))
	if err != nil {
		return 0, false, fmt.Errorf("create launch template %q version %d: %w", name, data.Version, err)
	}
	if err := vb.Put(versionKey(data.Version), raw); err != nil {
		return 0, false, fmt.Errorf("create launch template %q version %d: %w", name, data.Version, err)
	}
	if err := templates().put(tx, lt); err != nil {
		return 0, false, err
	}
	return data.Version, true, nil
}

// NewLaunchTemplateID is a launch template ID as EC2 makes them: "lt-"
// and 17 hex digits.
func NewLaunchTemplateID() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return "lt-" + hex.EncodeToString(b)[:17]
}

// ListLaunchTemplateVersions returns every version of the launch template
// called name, oldest first.
func (tx *Tx) ListLaunchTemplateVersions(name string) ([]LaunchTemplateVersion, error) {
	vb := tx.versions(name)
	if vb == nil {
		return nil, fmt.Errorf("launch template %q: %w", name, ErrNotFound)
	}
	var out []LaunchTemplateVersion
	err := vb.ForEach(func(_, raw []byte) error {
		var v LaunchTemplateVersion
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("decode a version of launch template %q: %w", name, err)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// sameLaunch reports whether two versions launch the same thing: equal
// JSON once the fields that only say when and which are blanked.
func sameLaunch(a, b LaunchTemplateVersion) (bool, error) {
	enc := func(v LaunchTemplateVersion) ([]byte, error) {
		v.Version, v.Created = 0, time.Time{}
		return json.Marshal(v)
	}
	ea, errA := enc(a)
	eb, errB := enc(b)
	if err := errors.Join(errA, errB); err != nil {
		return false, fmt.Errorf("compare versions of launch template %q: %w", a.Template, err)
	}
	return bytes.Equal(ea, eb), nil
}

// LaunchTemplateVersion returns version v of the launch template called
// name, or an error wrapping ErrNotFound.
func (tx *Tx) LaunchTemplateVersion(name string, v int) (LaunchTemplateVersion, error) {
	var out LaunchTemplateVersion
	var raw []byte
	if vb := tx.versions(name); vb != nil && v > 0 {
		raw = vb.Get(versionKey(v))
	}
	if raw == nil {
		return out, fmt.Errorf("launch template %q version %d: %w", name, v, ErrNotFound)
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, fmt.Errorf("decode launch template %q version %d: %w", name, v, err)
	}
	return out, nil
}

// SetDefaultLaunchTemplateVersion makes v, which must exist, the default
// version of the launch template called name.
func (tx *Tx) SetDefaultLaunchTemplateVersion(name string, v int) error {
	lt, err := templates().get(tx, name)
	if err != nil {
		return fmt.Errorf("set default version of %w", err)
	}
	if _, err := tx.LaunchTemplateVersion(name, v); err != nil {
		return fmt.Errorf("set default version: %w", err)
	}
	lt.DefaultVersion = v
	return templates().put(tx, lt)
}

// The aliases a launch template version is named by besides its number.
const (
	VersionLatest  = "$Latest"
	VersionDefault = "$Default"
)

// FollowedVersion is the version of lt a group launching from alias
// ($Latest or $Default) launches from now, and whether it follows one.
func FollowedVersion(lt LaunchTemplate, alias string) (int, bool) {
	switch alias {
	case VersionLatest:
		return lt.LatestVersion, true
	case VersionDefault:
		return lt.DefaultVersion, true
	}
	return 0, false
}

// ErrDefaultVersion is returned for the deletion of a launch template's
// default version: make another one the default first.
var ErrDefaultVersion = errors.New("the default version of a launch template cannot be deleted; make another version the default first")

// DeleteLaunchTemplateVersion removes version v of the launch template
// called name, which must not be its default. Version numbers are not
// given again.
func (tx *Tx) DeleteLaunchTemplateVersion(name string, v int) error {
	lt, err := templates().get(tx, name)
	if err != nil {
		return fmt.Errorf("delete version of %w", err)
	}
	if _, err := tx.LaunchTemplateVersion(name, v); err != nil {
		return fmt.Errorf("delete version: %w", err)
	}
	if v == lt.DefaultVersion {
		return ErrDefaultVersion
	}
	return tx.versions(name).Delete(versionKey(v))
}

// DeleteLaunchTemplate removes the launch template called name and all of
// its versions.
func (tx *Tx) DeleteLaunchTemplate(name string) error {
	if err := templates().del(tx, name); err != nil {
		return err
	}
	err := tx.bucket(bucketVersions).DeleteBucket([]byte(name))
	if err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
		return fmt.Errorf("delete versions of launch template %q: %w", name, err)
	}
	return nil
}

// versions is the bucket of one template's versions, nil if it has none.
func (tx *Tx) versions(name string) *bolt.Bucket {
	if name == "" {
		return nil
	}
	return tx.bucket(bucketVersions).Bucket([]byte(name))
}

// versionKey is v as 8 big-endian bytes, so versions sort by number.
func versionKey(v int) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }
