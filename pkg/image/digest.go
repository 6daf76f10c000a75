package image

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"

	"github.com/vmfleet/vmfleet/pkg/kernel"
)

// formatVersion changes whenever the bake's output changes for the same
// inputs, so old cached images are not reused. 2: modes with sticky and
// setgid bits, copies that replace /etc files, inodes for many small files.
// 3: disks and initrds shared between images, by their own digests.
const formatVersion = 3

// Inputs are what every bake uses beside the recipe.
type Inputs struct {
	Kernel *kernel.Kernel
	Init   string // path to the guest's init: vmfleet-init, or vmfleet itself
}

// Digest is the image's content address: a hash of everything that decides
// its bytes. Hashing is all it does; nothing is written.
func Digest(r *Recipe, in Inputs) (string, error) {
	d, err := digestsOf(r, in, nil)
	return d.image, err
}

// Digest is the image's content address as the package's Digest computes
// it, with the hashes of unchanged input files taken from the store's
// cache: what a bake of the recipe would name its image.
func (s *Store) Digest(r *Recipe, in Inputs) (string, error) {
	d, err := s.digests(r, in)
	return d.image, err
}

func (s *Store) digests(r *Recipe, in Inputs) (digests, error) {
	c := loadHashCache(filepath.Join(s.Root, "hashes.json"))
	d, err := digestsOf(r, in, c)
	if err != nil {
		return d, err
	}
	// A cache that cannot be written costs the next bake a hash, no more.
	_ = c.save()
	return d, nil
}

// digests are a bake's content addresses. The disk's and the initrd's
// cover only what goes into them, so images that differ in command,
// environment, port or kernel share them; the image's covers those and
// the other two.
type digests struct{ image, disk, initrd string }

func digestsOf(r *Recipe, in Inputs, c *hashCache) (digests, error) {
	var out digests
	disk := digest{cache: c}
	disk.enc("disk", formatVersion)
	if r.Binary != "" {
		disk.enc(baseName(r.Binary)) // where it lands in /app
		disk.file(r.Binary)
	}
	if r.Rootfs != "" {
		disk.enc("rootfs")
		disk.file(r.Rootfs)
	}
	for _, cp := range r.Copies {
		disk.enc(cp.Dst)
		if err := disk.tree(cp.Src); err != nil {
			return out, err
		}
	}

	initrd := digest{cache: c}
	initrd.enc("initrd", formatVersion, in.Kernel.Modules)
	initrd.file(in.Init)
	libs, err := initLibraries(in.Init)
	if err != nil {
		return out, err
	}
	for _, lib := range libs {
		initrd.enc(lib) // where the initramfs puts it
		initrd.file(lib)
	}
	for _, m := range in.Kernel.Modules {
		initrd.file(filepath.Join(in.Kernel.ModulesDir, m))
	}

	if out.disk, err = disk.sum(); err != nil {
		return out, err
	}
	if out.initrd, err = initrd.sum(); err != nil {
		return out, err
	}
	image := digest{cache: c}
	image.enc(formatVersion, r.Name, r.Command, r.Env, r.Port, in.Kernel.Version, out.disk, out.initrd)
	image.file(in.Kernel.Image)
	if out.image, err = image.sum(); err != nil {
		return out, err
	}
	return out, nil
}

// digest lists what a digest covers, in order: encoded values and
// files. The files' contents, most of the work (the kernel alone is over
// ten megabytes), are hashed on all cores, each on its own; the digest
// covers each one's hash, and the names that matter are encoded beside it.
type digest struct {
	parts []digestPart
	cache *hashCache // nil: hash every file
}

type digestPart struct {
	text []byte // encoded values, or a tree entry's name and mode
	file string // a file whose name and content hash follow text
}

func (d *digest) enc(v ...any) {
	for _, x := range v {
		b, _ := json.Marshal(x)
		d.parts = append(d.parts, digestPart{text: append(b, '\n')})
	}
}

func (d *digest) file(p string) {
	d.parts = append(d.parts, digestPart{file: p})
}

// tree covers a file or a directory tree: names, modes, link targets and
// contents, in a fixed order.
func (d *digest) tree(root string) error {
	root, err := copySource(root)
	if err != nil {
		return fmt.Errorf("hash %w", err)
	}
	var paths []string
	err = filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return fmt.Errorf("hash %s: %w", root, err)
	}
	sort.Strings(paths)
	for _, p := range paths {
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		part := digestPart{text: fmt.Appendf(nil, "%s %o %d\n", rel, fi.Mode(), fi.Size())}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			part.text = fmt.Appendf(part.text, "%s\n", t)
		case fi.Mode().IsRegular():
			part.file = p
		}
		d.parts = append(d.parts, part)
	}
	return nil
}

func (d *digest) sum() (string, error) {
	sums := make([][]byte, len(d.parts))
	errs := make([]error, len(d.parts))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				sums[i], errs[i] = d.cache.sum(d.parts[i].file)
			}
		})
	}
	for i, part := range d.parts {
		if part.file != "" {
			next <- i
		}
	}
	close(next)
	wg.Wait()

	h := sha256.New()
	for i, part := range d.parts {
		h.Write(part.text)
		if part.file == "" {
			continue
		}
		if errs[i] != nil {
			return "", errs[i]
		}
		fmt.Fprintf(h, "file %x\n", sums[i])
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
