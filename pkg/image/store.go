package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vmfleet/vmfleet/pkg/limits"
)

// Store is the local image store:
//
//	ROOT/images/DIGEST/manifest.json    one image: what to boot, and how
//	ROOT/disks/DIGEST/{disk.qcow2,disk.json}  a root filesystem, shared by the
//	                                    images of the same files
//	ROOT/initrds/DIGEST/initrd.img      shared by the images of the same init
//	                                    and kernel modules
//	ROOT/kernels/VERSION-HASH/vmlinuz   shared by the images that boot it
//	ROOT/names/NAME                     the digest NAME points at
//	ROOT/hashes.json                    input files' hashes by their stat
//	ROOT/tmp/                           bakes in progress, renamed into place
//
// Images baked before disks were shared keep disk.qcow2 and initrd.img in
// their own directory; their manifests' absolute paths say where.
type Store struct {
	Root string
}

// pruneGrace spares images and kernels this young from Prune: a bake in
// progress may not have named them yet.
const pruneGrace = 10 * time.Minute

// ErrNotFound is returned for an image name or digest the store lacks.
var ErrNotFound = errors.New("no such image")

// OpenStore creates the store's directories if needed. They are
// world-readable: libvirt's QEMU runs as its own user and must reach them.
func OpenStore(root string) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	s := &Store{Root: abs}
	for _, d := range append([]string{"images", "names", "tmp"}, sharedKinds...) {
		if err := os.MkdirAll(filepath.Join(abs, d), 0o755); err != nil {
			return nil, fmt.Errorf("open image store: %w", err)
		}
	}
	return s, nil
}

func (s *Store) imageDir(digest string) string { return filepath.Join(s.Root, "images", digest) }
func (s *Store) namePath(name string) string   { return filepath.Join(s.Root, "names", name) }

// Get finds an image by name, full digest or a digest prefix of at least
// 12 hex digits.
func (s *Store) Get(ref string) (*Manifest, error) {
	if limits.CheckImageName(ref) == nil {
		if b, err := os.ReadFile(s.namePath(ref)); err == nil {
			return readManifest(filepath.Join(s.imageDir(strings.TrimSpace(string(b))), "manifest.json"))
		}
	}
	// Only hex digits: ref becomes a glob pattern.
	if len(ref) >= 12 && len(ref) <= 64 && strings.Trim(ref, "0123456789abcdef") == "" {
		matches, _ := filepath.Glob(filepath.Join(s.Root, "images", ref+"*", "manifest.json"))
		switch len(matches) {
		case 1:
			return readManifest(matches[0])
		case 0:
		default:
			return nil, fmt.Errorf("image %s is ambiguous: %d images' digests start with it; give more digits", ref, len(matches))
		}
	}
	return nil, fmt.Errorf("%w %q; bake it first (vmfleet bake --name %s ...) or see vmfleet images", ErrNotFound, ref, ref)
}

// List returns the images the store's names point at, by name.
func (s *Store) List() ([]*Manifest, error) {
	entries, err := os.ReadDir(filepath.Join(s.Root, "names"))
	if err != nil {
		return nil, err
	}
	var out []*Manifest
	for _, e := range entries {
		m, err := s.Get(e.Name())
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // a name whose image was removed under it
			}
			return nil, err
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Remove deletes an image, given by name or digest, and its name if the
// name still points at it (a later bake may have moved the name on). The
// caller checks that no instance uses it. Other images stay, unnamed ones
// too: an instance may still boot from one, and Prune, told which are in
// use, is what removes them.
func (s *Store) Remove(ref string) error {
	m, err := s.Get(ref)
	if err != nil {
		return err
	}
	if b, err := os.ReadFile(s.namePath(m.Name)); err == nil && strings.TrimSpace(string(b)) == m.Digest {
		if err := os.Remove(s.namePath(m.Name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove image %s: %w", ref, err)
		}
	}
	if err := s.discard(s.imageDir(m.Digest)); err != nil {
		return fmt.Errorf("remove image %s: %w", ref, err)
	}
	return s.pruneShared()
}

// discard moves a directory of the store into tmp/ in one rename, so no
// reader sees it half deleted, then deletes it.
func (s *Store) discard(dir string) error {
	gone, err := os.MkdirTemp(filepath.Join(s.Root, "tmp"), "rm-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(gone)
	err = os.Rename(dir, filepath.Join(gone, filepath.Base(dir)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Prune removes images no name points at, except those inUse reports (an
// instance's overlay still reads them), and the kernels, disks and initrds
// no image left uses.
func (s *Store) Prune(inUse func(digest string) bool) error {
	named := map[string]bool{}
	names, _ := os.ReadDir(filepath.Join(s.Root, "names"))
	for _, n := range names {
		if b, err := os.ReadFile(s.namePath(n.Name())); err == nil {
			named[strings.TrimSpace(string(b))] = true
		}
	}
	images, _ := os.ReadDir(filepath.Join(s.Root, "images"))
	for _, e := range images {
		d := e.Name()
		if named[d] || (inUse != nil && inUse(d)) {
			continue
		}
		// A bake renames its image into place before it names it; leave
		// young ones be.
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) < pruneGrace {
			continue
		}
		if err := s.discard(s.imageDir(d)); err != nil {
			return fmt.Errorf("prune image %s: %w", d[:min(12, len(d))], err)
		}
	}
	return s.pruneShared()
}
