package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/ext4"
)

// rootFS writes an ext4 filesystem image in Go: no root, mounts or loop
// devices. go-diskfs cannot remove files without damaging the filesystem,
// so everything is written once, in order.
type rootFS struct {
	fs    *ext4.FileSystem
	dirs  map[string]bool
	files map[string]bool // files and symlinks written: writing one again would leave the old one's tail
	buf   []byte
}

const blockSize = 4096

// fsSize is the filesystem's size for content bytes: room for the content,
// its metadata and some writable headroom for the service.
func fsSize(content int64) int64 {
	const headroom = 64 << 20
	size := content + content/4 + headroom
	const align = 16 << 20
	return (size + align - 1) / align * align
}

// inodeCount is one inode for 8 KiB of filesystem, as mkfs.ext4 gives, or
// more where many small files need them: a tarball of 30,000 empty files
// would run out. An inode a block is the most a group's bitmap can hold.
func inodeCount(size, entries int64) uint32 {
	n := size / ext4.DefaultInodeRatio
	if want := entries + entries/4 + 1024; want > n {
		n = want
	}
	return uint32(min(n, size/blockSize))
}

func createRootFS(p string, c content) (*rootFS, int64, error) {
	size := fsSize(c.bytes)
	b, err := file.CreateFromPath(p, size)
	if err != nil {
		return nil, 0, err
	}
	fs, err := ext4.Create(b, size, 0, 512, &ext4.Params{
		SectorsPerBlock: blockSize / 512,
		InodeCount:      inodeCount(size, c.entries),
		VolumeName:      "vmfleet",
		// Small filesystems have no use for online-resize reservations, and
		// go-diskfs lays them out wrongly under 128 MiB.
		Features: []ext4.FeatureOpt{ext4.WithFeatureReservedGDTBlocksForExpansion(false)},
	})
	if err != nil {
		return nil, 0, err
	}
	return &rootFS{fs: fs, dirs: map[string]bool{"": true}, files: map[string]bool{}, buf: make([]byte, 4<<20)}, size, nil
}

func (r *rootFS) Close() error { return r.fs.Close() }

// rel turns an absolute image path into go-diskfs's relative form.
func rel(p string) string { return strings.TrimPrefix(path.Clean("/"+p), "/") }

func (r *rootFS) mkdirAll(p string, mode fs.FileMode) error {
	p = rel(p)
	if r.dirs[p] {
		return nil
	}
	if err := r.mkdirAll(path.Dir(p), 0o755); err != nil {
		return err
	}
	if p == "." {
		return nil
	}
	if err := r.fs.Mkdir(p); err != nil {
		return fmt.Errorf("mkdir /%s: %w", p, err)
	}
	r.dirs[p] = true
	return r.fs.Chmod(p, fileMode(mode))
}

// fileMode is the part of a mode the image keeps: permissions and the
// setuid, setgid and sticky bits (a rootfs's /var/tmp needs its sticky bit).
func fileMode(mode fs.FileMode) fs.FileMode {
	return mode.Perm() | mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)
}

// claim records that p is written, once: go-diskfs would write a second
// file over the first one without truncating it, and cannot remove it.
func (r *rootFS) claim(p string) error {
	if r.files[p] {
		return fmt.Errorf("/%s is written twice: give each copy its own destination, apart from the binary's", p)
	}
	r.files[p] = true
	return nil
}

func (r *rootFS) writeFile(p string, src io.Reader, mode fs.FileMode) error {
	p = rel(p)
	if err := r.claim(p); err != nil {
		return err
	}
	if err := r.mkdirAll(path.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := r.fs.OpenFile(p, os.O_CREATE|os.O_RDWR)
	if err != nil {
		return fmt.Errorf("create /%s: %w", p, err)
	}
	// Hide an *os.File's WriteTo, which would copy in 32 KiB writes: each
	// write to go-diskfs allocates blocks and rewrites the inode.
	if _, err := io.CopyBuffer(f, struct{ io.Reader }{src}, r.buf); err != nil {
		f.Close()
		return fmt.Errorf("write /%s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return r.fs.Chmod(p, fileMode(mode))
}

func (r *rootFS) symlink(target, p string) error {
	p = rel(p)
	if err := r.claim(p); err != nil {
		return err
	}
	if err := r.mkdirAll(path.Dir(p), 0o755); err != nil {
		return err
	}
	return r.fs.Symlink(target, p)
}

// skeletonDirs are the mount points every binary image has.
func (r *rootFS) skeletonDirs() error {
	for _, d := range []string{"/dev", "/proc", "/sys", "/run", "/tmp", "/etc", "/root", AppDir} {
		if err := r.mkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// skeletonFiles are the files programs expect in /etc. They are written
// after the copies, and only where no copy put its own.
func (r *rootFS) skeletonFiles() error {
	files := []struct{ path, content string }{
		{"/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"},
		{"/etc/group", "root:x:0:\nnogroup:x:65534:\n"},
		{"/etc/nsswitch.conf", "hosts: files dns\n"},
	}
	for _, f := range files {
		if p := rel(f.path); r.files[p] || r.dirs[p] {
			continue
		}
		if err := r.writeFile(f.path, strings.NewReader(f.content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// copyTree copies a host file or directory to dst in the image.
func (r *rootFS) copyTree(ctx context.Context, src, dst string) error {
	src, err := copySource(src)
	if err != nil {
		return err
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		relp, _ := filepath.Rel(src, p)
		target := path.Join(dst, filepath.ToSlash(relp))
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.IsDir():
			return r.mkdirAll(target, fi.Mode())
		case fi.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return r.symlink(t, target)
		case fi.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			return r.writeFile(target, f, fi.Mode())
		default:
			return fmt.Errorf("%s: only files, directories and symlinks can be copied", p)
		}
	})
}

// unpackTar writes a root filesystem tarball into the image. Device nodes
// are skipped (the guest mounts devtmpfs on /dev); hard links become copies
// because go-diskfs cannot link.
func (r *rootFS) unpackTar(ctx context.Context, tarball string) error {
	tr, c, err := openTarball(tarball)
	if err != nil {
		return err
	}
	defer c.Close()
	written := map[string]bool{}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", tarball, err)
		}
		p := rel(h.Name)
		if p == "." || p == "" {
			continue
		}
		if written[p] {
			// A later entry for the same path would need a remove, which
			// go-diskfs cannot do safely; the first one wins.
			continue
		}
		mode := h.FileInfo().Mode()
		switch h.Typeflag {
		case tar.TypeDir:
			// Chmod even when it exists: a tarball may list a directory
			// after what it holds, which made it with a default mode.
			if err = r.mkdirAll(p, mode); err == nil {
				err = r.fs.Chmod(p, fileMode(mode))
			}
		case tar.TypeReg:
			err = r.writeFile(p, tr, mode)
		case tar.TypeSymlink:
			err = r.symlink(h.Linkname, p)
		case tar.TypeLink:
			var data []byte
			data, err = r.fs.ReadFile(rel(h.Linkname))
			if err == nil {
				err = r.writeFile(p, bytes.NewReader(data), mode)
			}
		default:
			continue // devices, fifos: not needed in a service image
		}
		if err != nil {
			return fmt.Errorf("unpack %s: %w", h.Name, err)
		}
		written[p] = true
		if h.Typeflag != tar.TypeSymlink && (h.Uid != 0 || h.Gid != 0) {
			if err := r.fs.Chown(p, h.Uid, h.Gid); err != nil {
				return fmt.Errorf("chown %s: %w", h.Name, err)
			}
		}
	}
}

// content is what a bake puts in the image, as the filesystem is sized
// from it.
type content struct {
	bytes   int64 // file sizes plus a block for each entry
	entries int64 // files, directories and links: each needs an inode
}

// tarContent reads a tarball's headers (a compressed tarball says nothing
// useful by its own size), refusing one that claims more than an image may
// hold or that ends before its last entry's data does.
func tarContent(tarball string) (content, error) {
	tr, c, err := openTarball(tarball)
	if err != nil {
		return content{}, err
	}
	defer c.Close()
	input := "--rootfs " + tarball
	var total content
	var last *tar.Header
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if errors.Is(err, io.ErrUnexpectedEOF) && last != nil {
			return content{}, fmt.Errorf("%s is truncated: it ends inside %s (its header says %d bytes) or in the header after it; make the tarball again or fetch it whole",
				input, last.Name, last.Size)
		}
		if err != nil {
			return content{}, fmt.Errorf("read %s: %w", tarball, err)
		}
		if err := total.add(input, h.Name, h.Size); err != nil {
			return content{}, err
		}
		last = h
	}
}

// copySource is the file or directory a copy reads: what a symlink given
// as the source points at, as cp and docker COPY read it. Symlinks inside a
// copied tree stay symlinks.
func copySource(src string) (string, error) {
	return filepath.EvalSymlinks(src)
}
