// Package store keeps vmfleet's durable desired state: images, launch
// templates, target groups, groups and fleets, in one bbolt file per home
// (HOME/state.db), owned by one daemon at a time.
//
// libvirt's domain metadata stays the truth about instances; the only
// instance IDs kept here are a group's scale-in protection list.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var (
	// ErrNotFound is wrapped by every Get, Delete and version lookup of a
	// record that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists is wrapped by a create of a record that already exists.
	ErrExists = errors.New("already exists")
	// ErrLocked is wrapped by Open when another process holds the store.
	ErrLocked = errors.New("another process holds the store")
)

// DefaultLockTimeout is how long Open waits for another process to let go
// of the store: long enough to ride out a daemon restarting, short enough
// that a second daemon fails at once.
const DefaultLockTimeout = time.Second

// Store is an open state file. It is safe for concurrent use; writes are
// serialised, reads run beside them.
type Store struct {
	db *bolt.DB
}

// Option changes how Open opens a store.
type Option func(*config)

type config struct {
	lockTimeout time.Duration
	migrations  []migration
}

// WithLockTimeout sets how long Open waits for another process to release
// the store (DefaultLockTimeout if d is not positive).
func WithLockTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.lockTimeout = d
		}
	}
}

// withMigrations replaces the migration list, so tests can exercise the
// mechanism with steps of their own.
func withMigrations(ms []migration) Option {
	return func(c *config) { c.migrations = ms }
}

// Open opens the store at path, creating it (mode 0600) if it does not
// exist, and brings its schema up to date. It fails within the lock
// timeout, with an error wrapping ErrLocked, if another process has the
// store open.
func Open(path string, opts ...Option) (*Store, error) {
	c := config{lockTimeout: DefaultLockTimeout, migrations: releasedMigrations()}
	for _, o := range opts {
		o(&c)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: c.lockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open store %s: %w (waited %v); is a vmfleet daemon already running for this home?", path, ErrLocked, c.lockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := prepare(db, c.migrations); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close releases the store's file and lock.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", s.db.Path(), err)
	}
	return nil
}

// View runs fn in a read-only transaction that sees one consistent state.
// A cancelled ctx is reported before the transaction starts.
func (s *Store) View(ctx context.Context, fn func(*Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("read store: %w", err)
	}
	return s.db.View(func(btx *bolt.Tx) error { return fn(&Tx{tx: btx}) })
}

// Update runs fn in a read-write transaction. It is all or nothing: when
// fn returns an error (or panics) none of its changes are kept. A
// cancelled ctx is reported before the transaction starts; once started,
// the transaction runs to its end.
func (s *Store) Update(ctx context.Context, fn func(*Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("update store: %w", err)
	}
	return s.db.Update(func(btx *bolt.Tx) error { return fn(&Tx{tx: btx}) })
}

// Tx is a transaction, valid only inside the View or Update func it was
// given to. Writes through a Tx from View fail.
type Tx struct {
	tx *bolt.Tx
}

func (tx *Tx) bucket(name string) *bolt.Bucket { return tx.tx.Bucket([]byte(name)) }

// now is the time stamp the store writes. JSON drops the monotonic reading
// anyway; UTC keeps the stored text free of local zones.
func now() time.Time { return time.Now().UTC() }
