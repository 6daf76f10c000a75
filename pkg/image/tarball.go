package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// openCompressed returns r decompressed when it starts with a gzip, xz or
// zstd magic, and r as it is otherwise. Closing the closer is the caller's.
func openCompressed(r io.Reader) (io.Reader, io.Closer, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	magic, _ := br.Peek(6)
	nop := closerFunc(func() error { return nil })
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		gz, err := gzip.NewReader(br)
		return gz, nop, err
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		x, err := xz.NewReader(br)
		return x, nop, err
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		z, err := zstd.NewReader(br)
		if err != nil {
			return nil, nil, err
		}
		return z, closerFunc(func() error { z.Close(); return nil }), nil
	}
	return br, nop, nil
}

// openTarball opens a tar, decompressed if it needs to be.
func openTarball(p string) (*tar.Reader, io.Closer, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, err
	}
	r, c, err := openCompressed(f)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if _, plain := r.(*bufio.Reader); plain {
		// The file itself, which tar seeks in to skip what is not read:
		// sizing an image from a plain tarball's headers reads no data.
		if _, err := f.Seek(0, io.SeekStart); err == nil {
			r = f
		}
	}
	return tar.NewReader(r), closerFunc(func() error { c.Close(); return f.Close() }), nil
}

type closerFunc func() error

func (c closerFunc) Close() error { return c() }

// checkTarball reads the first header so an unreadable or non-tar file fails
// before any work.
func checkTarball(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("--rootfs %s: %w", p, withoutPath(err))
	}
	defer f.Close()
	r, c, err := openCompressed(f)
	if err == nil {
		defer c.Close()
		_, err = tar.NewReader(r).Next()
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("--rootfs %s: the tarball is empty", p)
		}
		return fmt.Errorf("--rootfs %s: not a readable tar archive (%v); make one with tar -C rootfs -cf rootfs.tar . or docker export", p, err)
	}
	return nil
}
