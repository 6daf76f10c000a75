package image

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/vmfleet/vmfleet/pkg/kernel"
)

// formatVersion changes whenever the bake's output changes for the same
// inputs, so old cached images are not reused.
const formatVersion = 1

// Inputs are what every bake uses beside the recipe.
type Inputs struct {
	Kernel *kernel.Kernel
	Init   string // path to the vmfleet-init binary
}

// Digest is the image's content address: a hash of everything that decides
// its bytes. Hashing is all it does; nothing is written.
func Digest(r *Recipe, in Inputs) (string, error) {
	h := sha256.New()
	w := json.NewEncoder(h)
	enc := func(v ...any) {
		for _, x := range v {
			_ = w.Encode(x)
		}
	}
	enc(formatVersion, r.Name, r.Command, r.Env, r.Port, in.Kernel.Version, in.Kernel.Modules)
	files := []string{in.Kernel.Image, in.Init}
	for _, m := range in.Kernel.Modules {
		files = append(files, filepath.Join(in.Kernel.ModulesDir, m))
	}
	if r.Binary != "" {
		files = append(files, r.Binary)
	}
	if r.Rootfs != "" {
		files = append(files, r.Rootfs)
	}
	for _, f := range files {
		if err := hashFile(h, f); err != nil {
			return "", err
		}
	}
	for _, c := range r.Copies {
		enc(c.Dst)
		if err := hashTree(h, c.Src); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(h hash.Hash, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("hash %s: %w", p, err)
	}
	defer f.Close()
	fmt.Fprintf(h, "file %s\n", filepath.Base(p))
	_, err = io.Copy(h, f)
	return err
}

// hashTree hashes a file or a directory tree: names, modes, link targets
// and contents, in a fixed order.
func hashTree(h hash.Hash, root string) error {
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
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
		fmt.Fprintf(h, "%s %o %d\n", rel, fi.Mode(), fi.Size())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintln(h, t)
		case fi.Mode().IsRegular():
			if err := hashFile(h, p); err != nil {
				return err
			}
		}
	}
	return nil
}
