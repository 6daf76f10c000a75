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

	"github.com/vmfleet/vmfleet/pkg/image/ext4"
)

// rootFS writes a service's root filesystem image with the package's own
// ext4 writer: no root, mounts or loop devices, and every file streamed
// into place once. A path is written once: the first writer wins, or, for
// a bake's own files, a second one is refused.
type rootFS struct {
	w     *ext4.Writer
	f     *os.File
	files map[string]bool // files and symlinks written by the recipe's own files
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
	n := size / 8192
	if want := entries + entries/4 + 1024; want > n {
		n = want
	}
	return uint32(min(n, size/blockSize))
}

func createRootFS(p string, c content) (*rootFS, int64, error) {
	size := fsSize(c.bytes)
	f, err := os.Create(p)
	if err != nil {
		return nil, 0, err
	}
	w, err := ext4.Create(f, size, inodeCount(size, c.entries), "vmfleet")
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return &rootFS{w: w, f: f, files: map[string]bool{}}, size, nil
}

// Close writes the filesystem's metadata and closes its file.
func (r *rootFS) Close() error {
	if err := r.w.Close(); err != nil {
		r.f.Close()
		return err
	}
	return r.f.Close()
}

// abandon closes the file of a filesystem that will not be finished.
func (r *rootFS) abandon() { r.f.Close() }

// rel turns an absolute image path into the writer's relative form.
func rel(p string) string { return strings.TrimPrefix(path.Clean("/"+p), "/") }

// mkdirAll makes a directory the recipe's own files need, leaving one that
// exists as it is.
func (r *rootFS) mkdirAll(p string, mode fs.FileMode) error {
	if r.w.Exists(p) {
		return nil
	}
	return r.w.Mkdir(p, ext4.Meta{Mode: fileMode(mode)})
}

// fileMode is the part of a mode the image keeps: permissions and the
// setuid, setgid and sticky bits (a rootfs's /var/tmp needs its sticky bit).
func fileMode(mode fs.FileMode) fs.FileMode {
	return mode.Perm() | mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)
}

// claim records that p is written, once: a copy that lands on the binary or
// on another copy is a mistake in the recipe.
func (r *rootFS) claim(p string) error {
	if r.files[p] {
		return fmt.Errorf("/%s is written twice: give each copy its own destination, apart from the binary's", p)
	}
	r.files[p] = true
	return nil
}

// writeHostFile writes the host file at src, which fi describes, to p in
// the image with mode.
func (r *rootFS) writeHostFile(p, src string, fi fs.FileInfo, mode fs.FileMode) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	return r.writeFile(p, f, fi.Size(), ext4.Meta{Mode: fileMode(mode), Mtime: fi.ModTime()})
}

func (r *rootFS) writeFile(p string, src io.Reader, size int64, m ext4.Meta) error {
	p = rel(p)
	if err := r.claim(p); err != nil {
		return err
	}
	return r.w.WriteFile(p, src, size, m)
}

func (r *rootFS) symlink(target, p string) error {
	p = rel(p)
	if err := r.claim(p); err != nil {
		return err
	}
	return r.w.Symlink(target, p, ext4.Meta{})
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
		if r.w.Exists(f.path) {
			continue
		}
		if err := r.writeFile(f.path, strings.NewReader(f.content), int64(len(f.content)), ext4.Meta{Mode: 0o644}); err != nil {
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
			return r.writeHostFile(target, p, fi, fi.Mode())
		default:
			return fmt.Errorf("%s: only files, directories and symlinks can be copied", p)
		}
	})
}

// unpackTar writes a root filesystem tarball into the image, owners,
// modes, times and hard links as the tarball has them. Device nodes and
// fifos are skipped (the guest mounts devtmpfs on /dev).
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
			p = ""
		} else if written[p] {
			// A later entry for the same path: the first one wins, as
			// nothing is ever rewritten.
			continue
		}
		m := ext4.Meta{Mode: fileMode(h.FileInfo().Mode()), Uid: h.Uid, Gid: h.Gid, Mtime: h.ModTime}
		switch h.Typeflag {
		case tar.TypeDir:
			err = r.w.Mkdir(p, m)
		case tar.TypeReg:
			err = r.w.WriteFile(p, tr, h.Size, m)
		case tar.TypeSymlink:
			err = r.w.Symlink(h.Linkname, p, m)
		case tar.TypeLink:
			err = r.w.Link(rel(h.Linkname), p)
		default:
			continue // devices, fifos: not needed in a service image
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("--rootfs %s is truncated: it ends inside %s (its header says %d bytes); make the tarball again or fetch it whole", tarball, h.Name, h.Size)
		}
		if err != nil {
			return fmt.Errorf("unpack %s: %w", h.Name, err)
		}
		written[p] = true
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
