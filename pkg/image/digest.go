package image

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
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
const formatVersion = 2

// Inputs are what every bake uses beside the recipe.
type Inputs struct {
	Kernel *kernel.Kernel
	Init   string // path to the guest's init: vmfleet-init, or vmfleet itself
}

// Digest is the image's content address: a hash of everything that decides
// its bytes. Hashing is all it does; nothing is written.
func Digest(r *Recipe, in Inputs) (string, error) {
	var d digest
	d.enc(formatVersion, r.Name, r.Command, r.Env, r.Port, in.Kernel.Version, in.Kernel.Modules)
	d.file(in.Kernel.Image)
	d.file(in.Init)
	libs, err := initLibraries(in.Init)
	if err != nil {
		return "", err
	}
	for _, lib := range libs {
		d.enc(lib) // where the initramfs puts it
		d.file(lib)
	}
	for _, m := range in.Kernel.Modules {
		d.file(filepath.Join(in.Kernel.ModulesDir, m))
	}
	if r.Binary != "" {
		d.file(r.Binary)
	}
	if r.Rootfs != "" {
		d.file(r.Rootfs)
	}
	for _, c := range r.Copies {
		d.enc(c.Dst)
		if err := d.tree(c.Src); err != nil {
			return "", err
		}
	}
	return d.sum()
}

// digest lists what the image digest covers, in order: encoded values and
// files. The files' contents, most of the work (the kernel alone is over
// ten megabytes), are hashed on all cores, each on its own; the digest
// covers each one's name and hash.
type digest struct {
	parts []digestPart
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
				sums[i], errs[i] = hashFile(d.parts[i].file)
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
		fmt.Fprintf(h, "file %s %x\n", filepath.Base(part.file), sums[i])
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("hash %s: %w", p, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("hash %s: %w", p, err)
	}
	return h.Sum(nil), nil
}
