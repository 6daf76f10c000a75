package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

// Template is one saved guest.
type Template struct {
	Key   string `json:"key"`
	Shape Shape  `json:"shape"`
	// KernelDigest and InitrdDigest are what the template was booted from.
	KernelDigest string `json:"kernel_digest"`
	InitrdDigest string `json:"initrd_digest"`
	// State is the saved guest: a QEMU migration stream.
	State      string        `json:"state"`
	StateBytes int64         `json:"state_bytes"`
	Created    time.Time     `json:"created"`
	Took       time.Duration `json:"capture_ns"` // boot and save
}

// Spec makes the domain a template boots in: the domain an instance of
// the shape gets (the package that launches instances knows it), with the
// given name, disk and console log.
type Spec func(shape Shape, name, disk, consoleLog string) *hypervisor.DomainSpec

// Store keeps templates under Dir, one directory per key, and captures
// them on first use.
type Store struct {
	dir  string
	hv   hypervisor.Hypervisor
	spec Spec
	log  *slog.Logger

	sums digests
	mu   sync.Mutex
	busy map[string]*capture // captures under way, by key
}

type capture struct {
	done chan struct{}
	t    *Template
	err  error
}

// templateFile is a template's description beside its state.
const templateFile = "template.json"

// Open uses dir for templates, making it if need be. It must be one QEMU's
// user can enter (home.Prepare's rule), as QEMU connects to a socket there.
func Open(dir string, hv hypervisor.Hypervisor, spec Spec, log *slog.Logger) (*Store, error) {
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, fmt.Errorf("templates directory: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{dir: dir, hv: hv, spec: spec, log: log, busy: map[string]*capture{}}, nil
}

// Dir is where the templates are.
func (s *Store) Dir() string { return s.dir }

// Get returns the template of shape, capturing it first if there is none
// (one capture per key at a time; others wait for it).
func (s *Store) Get(ctx context.Context, shape Shape) (*Template, error) {
	id, err := s.sums.identity(shape)
	if err != nil {
		return nil, err
	}
	key := id.key()
	if t, err := s.read(key); err == nil {
		return t, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("template unreadable; capturing it again", "key", key, "err", err)
		_ = s.Invalidate(key)
	}
	s.mu.Lock()
	c, running := s.busy[key]
	if !running {
		c = &capture{done: make(chan struct{})}
		s.busy[key] = c
	}
	s.mu.Unlock()
	if !running {
		// The capture outlives a caller that gives up: others wait on it.
		go func() {
			c.t, c.err = s.capture(context.WithoutCancel(ctx), key, id, shape)
			s.mu.Lock()
			delete(s.busy, key)
			s.mu.Unlock()
			close(c.done)
		}()
	}
	select {
	case <-c.done:
		return c.t, c.err
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for template %s: %w", key, ctx.Err())
	}
}

func (s *Store) read(key string) (*Template, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, key, templateFile))
	if err != nil {
		return nil, err
	}
	var t Template
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("template %s: %w", key, err)
	}
	if _, err := os.Stat(t.State); err != nil {
		return nil, fmt.Errorf("template %s: %w", key, err)
	}
	return &t, nil
}

// Invalidate removes a template (one that failed to restore, say); the
// next Get captures it again.
func (s *Store) Invalidate(key string) error {
	if key == "" || filepath.Base(key) != key {
		return fmt.Errorf("template key %q is not a name", key)
	}
	return os.RemoveAll(filepath.Join(s.dir, key))
}

// List is every template, newest first.
func (s *Store) List() ([]Template, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	var out []Template
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if t, err := s.read(e.Name()); err == nil {
			out = append(out, *t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// Prune removes templates whose kernel or initrd is gone (their images
// were removed) and leftovers of interrupted captures.
func (s *Store) Prune() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("prune templates: %w", err)
	}
	for _, e := range entries {
		key := strings.TrimPrefix(e.Name(), capturePrefix)
		s.mu.Lock()
		_, busy := s.busy[key]
		s.mu.Unlock()
		if busy {
			continue
		}
		t, err := s.read(e.Name())
		if err != nil || !exists(t.Shape.Kernel) || !exists(t.Shape.Initrd) {
			_ = os.RemoveAll(filepath.Join(s.dir, e.Name()))
		}
	}
	return nil
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }
