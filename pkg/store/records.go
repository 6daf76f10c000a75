package store

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// record is a resource kept under its name in a bucket of its own.
type record interface {
	Image | TargetGroup | LoadBalancer | Group | Fleet | LaunchTemplate
	recordName() string
}

func (v Image) recordName() string          { return v.Name }
func (v TargetGroup) recordName() string    { return v.Name }
func (v LoadBalancer) recordName() string   { return v.Name }
func (v Group) recordName() string          { return v.Name }
func (v Fleet) recordName() string          { return v.Name }
func (v LaunchTemplate) recordName() string { return v.Name }

// kind is how one resource kind is kept: its bucket, and the noun its
// errors use.
type kind[T record] struct {
	bucket string
	noun   string
}

func images() kind[Image]             { return kind[Image]{bucketImages, "image"} }
func targetGroups() kind[TargetGroup] { return kind[TargetGroup]{bucketTargets, "target group"} }
func loadBalancers() kind[LoadBalancer] {
	return kind[LoadBalancer]{bucketLoadBalancers, "load balancer"}
}
func groups() kind[Group] { return kind[Group]{bucketGroups, "group"} }
func fleets() kind[Fleet] { return kind[Fleet]{bucketFleets, "fleet"} }
func templates() kind[LaunchTemplate] {
	return kind[LaunchTemplate]{bucketTemplates, "launch template"}
}

// get returns the record called name, or an error wrapping ErrNotFound.
func (k kind[T]) get(tx *Tx, name string) (T, error) {
	v, found, err := k.lookup(tx, name)
	if err == nil && !found {
		err = fmt.Errorf("%s %q: %w", k.noun, name, ErrNotFound)
	}
	return v, err
}

// lookup is get for callers to whom a missing record is no error.
func (k kind[T]) lookup(tx *Tx, name string) (v T, found bool, err error) {
	data := tx.bucket(k.bucket).Get([]byte(name))
	if data == nil {
		return v, false, nil
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return v, false, fmt.Errorf("decode %s %q: %w", k.noun, name, err)
	}
	return v, true, nil
}

// differs reports whether storing v would change what is stored.
func (k kind[T]) differs(tx *Tx, v T) (bool, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return false, fmt.Errorf("encode %s %q: %w", k.noun, v.recordName(), err)
	}
	return !bytes.Equal(tx.bucket(k.bucket).Get([]byte(v.recordName())), data), nil
}

// put stores v under its name, replacing any record of that name.
func (k kind[T]) put(tx *Tx, v T) error {
	name := v.recordName()
	if name == "" {
		return fmt.Errorf("put %s: the name is empty; give the %s a name", k.noun, k.noun)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s %q: %w", k.noun, name, err)
	}
	if err := tx.bucket(k.bucket).Put([]byte(name), data); err != nil {
		return fmt.Errorf("put %s %q: %w", k.noun, name, err)
	}
	return nil
}

// del removes the record called name, or returns an error wrapping
// ErrNotFound.
func (k kind[T]) del(tx *Tx, name string) error {
	b := tx.bucket(k.bucket)
	if b.Get([]byte(name)) == nil {
		return fmt.Errorf("delete %s %q: %w", k.noun, name, ErrNotFound)
	}
	if err := b.Delete([]byte(name)); err != nil {
		return fmt.Errorf("delete %s %q: %w", k.noun, name, err)
	}
	return nil
}

// list returns every record, sorted by name (bbolt keeps keys in byte
// order).
func (k kind[T]) list(tx *Tx) ([]T, error) {
	var out []T
	err := tx.bucket(k.bucket).ForEach(func(name, data []byte) error {
		var v T
		if err := json.Unmarshal(data, &v); err != nil {
			return fmt.Errorf("decode %s %q: %w", k.noun, name, err)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}
