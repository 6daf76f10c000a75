package image

import (
	"archive/tar"
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
	fs   *ext4.FileSystem
	dirs map[string]bool
	buf  []byte
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

func createRootFS(p string, size int64) (*rootFS, error) {
	b, err := file.CreateFromPath(p, size)
	if err != nil {
		return nil, err
	}
	fs, err := ext4.Create(b, size, 0, 512, &ext4.Params{
		SectorsPerBlock: blockSize / 512,
		VolumeName:      "vmfleet",
		// Small filesystems have no use for online-resize reservations, and
		// go-diskfs lays them out wrongly under 128 MiB.
		Features: []ext4.FeatureOpt{ext4.WithFeatureReservedGDTBlocksForExpansion(false)},
	})
	if err != nil {
		return nil, err
	}
	return &rootFS{fs: fs, dirs: map[string]bool{"": true}, buf: make([]byte, 4<<20)}, nil
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
	return r.fs.Chmod(p, mode.Perm())
}

func (r *rootFS) writeFile(p string, src io.Reader, mode fs.FileMode) error {
	p = rel(p)
	if err := r.mkdirAll(path.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := r.fs.OpenFile(p, os.O_CREATE|os.O_RDWR)
	if err != nil {
		return fmt.Errorf("create /%s: %w", p, err)
	}
	if _, err := io.CopyBuffer(f, src, r.buf); err != nil {
		f.Close()
		return fmt.Errorf("write /%s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return r.fs.Chmod(p, mode.Perm()|mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
}

func (r *rootFS) symlink(target, p string) error {
	p = rel(p)
	if err := r.mkdirAll(path.Dir(p), 0o755); err != nil {
		return err
	}
	return r.fs.Symlink(target, p)
}

// skeleton is what every binary image has besides the service: mount points
// and the files programs expect in /etc.
func (r *rootFS) skeleton() error {
	for _, d := range []string{"/dev", "/proc", "/sys", "/run", "/tmp", "/etc", "/root", AppDir} {
		if err := r.mkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	files := map[string]string{
		"/etc/passwd":        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
		"/etc/group":         "root:x:0:\nnogroup:x:65534:\n",
		"/etc/nsswitch.conf": "hosts: files dns\n",
	}
	for p, c := range files {
		if err := r.writeFile(p, strings.NewReader(c), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// copyTree copies a host file or directory to dst in the image.
func (r *rootFS) copyTree(ctx context.Context, src, dst string) error {
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
			err = r.mkdirAll(p, mode)
		case tar.TypeReg:
			err = r.writeFile(p, tr, mode)
		case tar.TypeSymlink:
			err = r.symlink(h.Linkname, p)
		case tar.TypeLink:
			var data []byte
			data, err = r.fs.ReadFile(rel(h.Linkname))
			if err == nil {
				err = r.writeFile(p, strings.NewReader(string(data)), mode)
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

// tarContentSize is the bytes a tarball's entries hold, read from its
// headers (a compressed tarball says nothing useful by its own size).
func tarContentSize(tarball string) (int64, error) {
	tr, c, err := openTarball(tarball)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return 0, fmt.Errorf("read %s: %w", tarball, err)
		}
		total += h.Size + blockSize
	}
}

// contentSize estimates the bytes a tree or tarball puts in the image.
func contentSize(paths ...string) (int64, error) {
	var total int64
	for _, p := range paths {
		err := filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			total += fi.Size() + blockSize
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	return total, nil
}
