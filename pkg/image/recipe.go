// Package image bakes services into immutable, content-addressed, bootable
// images (the AMIs of vmfleet) and keeps them in a local store.
//
// An image is a manifest.json pointing at disk.qcow2 (the service's ext4
// root filesystem), initrd.img (the guest's init, with its libraries if it
// has any, and the kernel modules it loads) and the kernel it boots. Each
// of the three is shared between the images that need the same one, by
// its own digest. The digests are computed from the inputs before any
// work, and input hashes are cached by stat, so a cache hit costs a stat.
package image

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/vmfleet/vmfleet/pkg/limits"
)

// Recipe is what a service becomes an image from: a static binary plus
// copied files, or a root filesystem tarball (how any language gets in).
type Recipe struct {
	Name    string
	Binary  string // host path; lands in /app/<base name>
	Copies  []Copy // host files or directories copied into the image
	Rootfs  string // host path of a tar (plain, gzip, xz or zstd)
	Command []string
	Env     []string // KEY=VALUE
	Port    int      // the port the service listens on in the guest
}

// Copy is one --copy SRC:DST.
type Copy struct {
	Src string // host path
	Dst string // absolute path in the image
}

// AppDir is where a binary recipe's binary lands.
const AppDir = "/app"

// ParseCopy parses SRC:DST.
func ParseCopy(s string) (Copy, error) {
	src, dst, ok := strings.Cut(s, ":")
	if !ok || src == "" || dst == "" {
		return Copy{}, fmt.Errorf("--copy %q: write it as SRC:DST, e.g. ./static:/srv/static", s)
	}
	if !path.IsAbs(dst) {
		return Copy{}, fmt.Errorf("--copy %q: destination %q must be an absolute path in the image, e.g. /srv/static", s, dst)
	}
	return Copy{Src: src, Dst: path.Clean(dst)}, nil
}

// ParseEnv checks KEY=VALUE pairs.
func ParseEnv(pairs []string) error {
	for _, p := range pairs {
		k, _, ok := strings.Cut(p, "=")
		if !ok {
			return fmt.Errorf("--env %q: write it as KEY=VALUE", p)
		}
		if err := limits.CheckEnvName(k); err != nil {
			return fmt.Errorf("--env %q: KEY %q %w", p, k, err)
		}
	}
	return nil
}

// Validate checks the recipe against the host before any work, so bad input
// fails in one line and leaves nothing behind.
func (r *Recipe) Validate() error {
	if err := limits.CheckImageName(r.Name); err != nil {
		return fmt.Errorf("name %q %w", r.Name, err)
	}
	switch {
	case r.Binary == "" && r.Rootfs == "":
		return errors.New("nothing to bake: give --binary FILE or --rootfs TARBALL")
	case r.Binary != "" && r.Rootfs != "":
		return errors.New("give either --binary or --rootfs, not both")
	}
	if r.Binary != "" {
		if err := checkBinary(r.Binary); err != nil {
			return err
		}
		if len(r.Command) == 0 {
			r.Command = []string{path.Join(AppDir, baseName(r.Binary))}
		}
	}
	for _, c := range r.Copies {
		if _, err := os.Stat(c.Src); err != nil {
			return fmt.Errorf("--copy %s:%s: %w", c.Src, c.Dst, withoutPath(err))
		}
		if !path.IsAbs(c.Dst) {
			return fmt.Errorf("--copy %s:%s: destination must be an absolute path in the image", c.Src, c.Dst)
		}
	}
	if r.Rootfs != "" {
		if err := checkTarball(r.Rootfs); err != nil {
			return err
		}
		if len(r.Command) == 0 {
			return fmt.Errorf("--rootfs %s needs a command: add -- /path/in/rootfs ARGS... after the flags", r.Rootfs)
		}
	}
	if r.Port != 0 {
		if err := limits.CheckPort(r.Port); err != nil {
			return fmt.Errorf("--port %d %w, or 0 for none", r.Port, err)
		}
	}
	return ParseEnv(r.Env)
}

func baseName(p string) string { return path.Base(strings.ReplaceAll(p, "\\", "/")) }

// withoutPath drops the path from a path error, for messages that name the
// path already.
func withoutPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkBinary insists on a static executable: the image holds nothing but
// the binary and its copies, so a dynamic one could never start.
func checkBinary(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("--binary %s: %w", p, withoutPath(err))
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("--binary %s: not a regular file", p)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("--binary %s: not executable; chmod +x it", p)
	}
	f, err := elf.Open(p)
	if err != nil {
		return fmt.Errorf("--binary %s: not a Linux executable (%v); for scripts or other runtimes bake a --rootfs tarball", p, err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 {
		return fmt.Errorf("--binary %s: built for %s; guests are x86-64 (GOARCH=amd64)", p, f.Machine)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("--binary %s: dynamically linked; build it static (Go: CGO_ENABLED=0) or bake a --rootfs tarball with its libraries", p)
		}
	}
	return nil
}
