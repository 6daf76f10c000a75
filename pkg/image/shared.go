package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// The store's shared, content-addressed parts: a directory each, named
// after what went into it, used by every image whose manifest points
// there. Instances read disks as the read-only backing file of their own
// overlay, so a shared one is never written after it is made.
const (
	diskKind   = "disks"
	initrdKind = "initrds"
	kernelKind = "kernels"
)

var sharedKinds = []string{kernelKind, diskKind, initrdKind}

// shared returns the directory of kind named digest, made by fill in a
// temporary directory renamed into place when no earlier bake made it.
// found says it was there. A found one is touched so Prune, which spares
// young ones, leaves it to the image about to point at it.
func (s *Store) shared(kind, digest string, fill func(dir string) error) (dir string, found bool, err error) {
	dir = filepath.Join(s.Root, kind, digest)
	now := time.Now()
	if err := os.Chtimes(dir, now, now); err == nil {
		return dir, true, nil
	}
	tmp, err := os.MkdirTemp(filepath.Join(s.Root, "tmp"), kind+"-")
	if err != nil {
		return "", false, err
	}
	defer os.RemoveAll(tmp) // empty after the rename; on failure, the half-made one
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", false, err
	}
	if err := fill(tmp); err != nil {
		return "", false, err
	}
	// Once renamed it is found and never made again: its bytes must be on
	// disk first (qemu-img does not sync what it writes).
	if err := syncFiles(tmp); err != nil {
		return "", false, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(dir); statErr != nil {
			return "", false, fmt.Errorf("store %s %s: %w", kind, digest[:12], err)
		}
		// Another bake of the same content finished first: same bytes.
	}
	return dir, false, nil
}

// pruneShared removes the kernels, disks and initrds no image in the store
// points at any more, sparing young ones: a bake makes or touches them
// before it writes the manifest that points at them. Images of old stores
// keep their disk and initrd in their own directory, which goes with them.
func (s *Store) pruneShared() error {
	used := map[string]bool{}
	images, _ := os.ReadDir(filepath.Join(s.Root, "images"))
	for _, e := range images {
		if m, err := readManifest(filepath.Join(s.imageDir(e.Name()), "manifest.json")); err == nil {
			for _, p := range []string{m.Kernel, m.Disk, m.Initrd} {
				used[filepath.Dir(p)] = true
			}
		}
	}
	for _, kind := range sharedKinds {
		entries, err := os.ReadDir(filepath.Join(s.Root, kind))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("prune %s: %w", kind, err)
		}
		for _, e := range entries {
			p := filepath.Join(s.Root, kind, e.Name())
			if used[p] {
				continue
			}
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) < pruneGrace {
				continue
			}
			if err := s.discard(p); err != nil {
				return fmt.Errorf("prune %s %s: %w", kind, e.Name(), err)
			}
		}
	}
	return nil
}

// syncFiles flushes the regular files in dir, and dir itself, to disk.
func syncFiles(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			if err := syncPath(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return syncPath(dir)
}

func syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
