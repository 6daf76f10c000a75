package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// BakeOption changes how Bake reports.
type BakeOption func(*bakeOptions)

type bakeOptions struct{ building func() }

// OnBuild is called once the cache missed and the image is being built,
// so a caller can say a slow bake has started.
func OnBuild(f func()) BakeOption { return func(o *bakeOptions) { o.building = f } }

// ErrDiskFull is a bake that ran out of space.
var ErrDiskFull = errors.New("no space left on device")

// diskFull turns running out of space or quota, wherever in the bake it
// happened (the filesystem writer, qemu-img), into one line that says so
// and what to do.
func diskFull(err error, root string) error {
	if api.DiskFull(err) {
		return fmt.Errorf("%w on the disk holding %s; free space there or choose a home on a larger disk (--home)", ErrDiskFull, root)
	}
	return err
}

// Result is what a bake produced.
type Result struct {
	Manifest *Manifest
	Cached   bool // the same inputs were baked before; nothing was built
	// SharedDisk says the image uses a disk an image of the same files
	// made before: no filesystem was written.
	SharedDisk bool
}

// Bake turns a recipe into an image in the store, or finds the one the same
// inputs produced before. Nothing is left behind when it fails: the work
// happens in a temporary directory renamed into place at the end.
func (s *Store) Bake(ctx context.Context, r Recipe, in Inputs, opts ...BakeOption) (res *Result, err error) {
	var o bakeOptions
	for _, opt := range opts {
		opt(&o)
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	// A binary and its copies are measured before they are hashed: hashing
	// a sparse terabyte would take hours only to refuse it. A rootfs is
	// measured from its headers, after the cache is looked at.
	var c content
	if r.Rootfs == "" {
		if c, err = binaryContent(&r); err != nil {
			return nil, fmt.Errorf("bake %s: %w", r.Name, err)
		}
	}
	dg, err := s.digests(&r, in)
	if err != nil {
		return nil, fmt.Errorf("bake %s: %w", r.Name, err)
	}
	dir := s.imageDir(dg.image)
	if m, err := readManifest(filepath.Join(dir, "manifest.json")); err == nil {
		if err := s.setName(r.Name, dg.image); err != nil {
			return nil, err
		}
		return &Result{Manifest: m, Cached: true}, nil
	}

	if o.building != nil {
		o.building()
	}
	tmp, err := os.MkdirTemp(filepath.Join(s.Root, "tmp"), "bake-"+r.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("bake %s: %w", r.Name, diskFull(err, s.Root))
	}
	defer os.RemoveAll(tmp) // after the rename it is empty; on failure it holds the half-made image
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	m, shared, err := s.build(ctx, &r, in, dg, tmp, c)
	if err != nil {
		return nil, fmt.Errorf("bake %s: %w", r.Name, diskFull(err, s.Root))
	}
	// The manifest must be on disk before the directory that makes it
	// found is, or a crash leaves an image whose cached bake reads junk.
	if err := syncFiles(tmp); err != nil {
		return nil, fmt.Errorf("bake %s: %w", r.Name, diskFull(err, s.Root))
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, "manifest.json")); statErr != nil {
			return nil, fmt.Errorf("bake %s: %w", r.Name, err)
		}
		// Another bake of the same inputs finished first: same bytes.
	}
	if err := s.setName(r.Name, dg.image); err != nil {
		return nil, err
	}
	return &Result{Manifest: m, SharedDisk: shared}, nil
}

// build makes the image's manifest in tmp, and the disk and initrd it
// points at where no earlier bake made them; c is the binary recipe's
// content, measured already. shared says the disk was there.
func (s *Store) build(ctx context.Context, r *Recipe, in Inputs, dg digests, tmp string, c content) (m *Manifest, shared bool, err error) {
	m = &Manifest{
		Name: r.Name, Digest: dg.image, Command: r.Command, Env: r.Env, Port: r.Port,
		KernelVersion: in.Kernel.Version, Created: time.Now().UTC().Truncate(time.Second),
		Source: "binary",
	}
	if r.Rootfs != "" {
		m.Source = "rootfs"
	}
	if m.Env == nil {
		m.Env = []string{}
	}
	diskDir, shared, err := s.shared(diskKind, dg.disk, func(dir string) error { return s.makeDisk(ctx, r, dir, c) })
	if err != nil {
		return nil, false, err
	}
	if m.DiskVirtual, err = readDiskInfo(diskDir); err != nil {
		return nil, false, err
	}
	initrdDir, _, err := s.shared(initrdKind, dg.initrd, func(dir string) error {
		return writeInitramfs(filepath.Join(dir, "initrd.img"), in.Kernel, in.Init)
	})
	if err != nil {
		return nil, false, err
	}
	m.Disk, m.Initrd = filepath.Join(diskDir, "disk.qcow2"), filepath.Join(initrdDir, "initrd.img")
	if m.Kernel, err = s.placeKernel(in); err != nil {
		return nil, false, err
	}
	for _, f := range []string{m.Disk, m.Initrd} {
		fi, err := os.Stat(f)
		if err != nil {
			return nil, false, err
		}
		m.SizeBytes += fi.Size()
	}
	if err := writeJSON(filepath.Join(tmp, "manifest.json"), m); err != nil {
		return nil, false, err
	}
	return m, shared, nil
}

// makeDisk writes the recipe's root filesystem as dir/disk.qcow2, with
// its size as the guest sees it in dir/disk.json.
func (s *Store) makeDisk(ctx context.Context, r *Recipe, dir string, c content) error {
	raw := filepath.Join(dir, "disk.raw")
	size, err := s.writeRootFS(ctx, r, raw, c)
	if err != nil {
		return err
	}
	// qemu-img writes only the blocks in use, so the qcow2 is about the
	// size of the content whatever the filesystem's size.
	if err := run(ctx, "qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, filepath.Join(dir, "disk.qcow2")); err != nil {
		return err
	}
	if err := os.Remove(raw); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, "disk.json"), diskInfo{VirtualBytes: size})
}

// diskInfo is what a shared disk says of itself, for the manifests of the
// images that use it.
type diskInfo struct {
	VirtualBytes int64 `json:"virtual_bytes"`
}

func readDiskInfo(dir string) (int64, error) {
	b, err := os.ReadFile(filepath.Join(dir, "disk.json"))
	if err != nil {
		return 0, fmt.Errorf("read disk info: %w", err)
	}
	var info diskInfo
	if err := json.Unmarshal(b, &info); err != nil || info.VirtualBytes <= 0 {
		return 0, fmt.Errorf("read disk info %s: not a disk's info (%v); remove %s and bake again", dir, err, dir)
	}
	return info.VirtualBytes, nil
}

func (s *Store) writeRootFS(ctx context.Context, r *Recipe, raw string, c content) (int64, error) {
	if r.Rootfs != "" {
		var err error
		if c, err = tarContent(r.Rootfs); err != nil {
			return 0, err
		}
	}
	rfs, size, err := createRootFS(raw, c)
	if err != nil {
		return 0, fmt.Errorf("create filesystem: %w", err)
	}
	if err := s.fillRootFS(ctx, rfs, r); err != nil {
		rfs.abandon()
		return 0, err
	}
	return size, rfs.Close()
}

func (s *Store) fillRootFS(ctx context.Context, rfs *rootFS, r *Recipe) error {
	if r.Rootfs != "" {
		return rfs.unpackTar(ctx, r.Rootfs)
	}
	if err := rfs.skeletonDirs(); err != nil {
		return err
	}
	fi, err := os.Stat(r.Binary)
	if err != nil {
		return err
	}
	if err := rfs.writeHostFile(filepath.Join(AppDir, baseName(r.Binary)), r.Binary, fi, 0o755); err != nil {
		return err
	}
	for _, c := range r.Copies {
		if err := rfs.copyTree(ctx, c.Src, c.Dst); err != nil {
			return fmt.Errorf("copy %s: %w", c.Src, err)
		}
	}
	return rfs.skeletonFiles()
}

// placeKernel puts the kernel image in the store, once per version and
// content: QEMU runs as another user and must be able to read it (Ubuntu
// keeps /boot/vmlinuz-* readable by root only).
func (s *Store) placeKernel(in Inputs) (string, error) {
	src, err := os.Open(in.Kernel.Image)
	if err != nil {
		return "", fmt.Errorf("read kernel: %w", err)
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(s.Root, "kernels", fmt.Sprintf("%s-%d-%d", in.Kernel.Version, fi.Size(), fi.ModTime().Unix()))
	dst := filepath.Join(dir, "vmlinuz")
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// 0644 whatever the umask: QEMU's user must read it.
	f, err := renameio.NewPendingFile(dst, renameio.WithTempDir(dir), renameio.WithStaticPermissions(0o644))
	if err != nil {
		return "", err
	}
	defer f.Cleanup()
	if _, err := io.Copy(f, src); err != nil {
		return "", fmt.Errorf("copy kernel: %w", err)
	}
	return dst, f.CloseAtomicallyReplace()
}

// setName points a name at a digest, atomically.
func (s *Store) setName(name, digest string) error {
	// A re-bake finds the name in place: a cached bake writes nothing.
	if b, err := os.ReadFile(s.namePath(name)); err == nil && strings.TrimSpace(string(b)) == digest {
		return nil
	}
	err := renameio.WriteFile(s.namePath(name), []byte(digest+"\n"), 0o600, renameio.WithTempDir(filepath.Join(s.Root, "tmp")))
	if err != nil {
		return fmt.Errorf("name image %s: %w", name, err)
	}
	return nil
}

func run(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) && errors.Is(ee.Err, exec.ErrNotFound) {
			return fmt.Errorf("%s is not installed; run make setup (Debian: apt-get install qemu-utils)", name)
		}
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
