package image

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// A header that claims a terabyte, and none of the data: the bake must
// refuse it from the header alone, before it lays out a filesystem for it.
func TestBakeRefusesATarballThatClaimsMoreThanAnImageMayHold(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "./data/", Mode: 0o755}); err != nil {
		t.Fatal(err)
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "./data/huge", Mode: 0o644, Size: 1 << 40}); err != nil {
		t.Fatal(err)
	}
	// No data and no Close: the archive ends after the header.
	huge := filepath.Join(t.TempDir(), "huge.tar")
	writeFile(t, huge, buf.Bytes(), 0o644)
	refuse(t, Recipe{Name: "web", Rootfs: huge, Command: []string{"/bin/sh"}}, "--rootfs", huge, "1TiB", "64GiB", "./data/huge")
}

// A GNU sparse file is a complete, valid archive of a few blocks that
// unpacks to a terabyte.
func TestBakeRefusesASparseTarballThatUnpacksToMoreThanAnImageMayHold(t *testing.T) {
	sparse := filepath.Join(t.TempDir(), "sparse.tar")
	writeFile(t, sparse, gnuSparseTar(t, "./var/db/huge", 1<<40), 0o644)
	refuse(t, Recipe{Name: "web", Rootfs: sparse, Command: []string{"/bin/sh"}}, "--rootfs", sparse, "1TiB", "64GiB")
}

func TestBakeRefusesCopiesThatAddUpToMoreThanAnImageMayHold(t *testing.T) {
	data := t.TempDir()
	writeFile(t, filepath.Join(data, "small"), []byte("small\n"), 0o644)
	// Sparse: takes no disk, and would take hours to hash.
	f, err := os.Create(filepath.Join(data, "huge"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 40); err != nil {
		t.Fatal(err)
	}
	f.Close()
	refuse(t, Recipe{Name: "hello", Binary: helloBin, Copies: []Copy{{Src: data, Dst: "/srv"}}}, "--copy", data, "1TiB", "64GiB")
}

func TestBakeRefusesATruncatedTarball(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "./etc/motd", Mode: 0o644, Size: 6}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "./srv/big", Mode: 0o644, Size: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(bytes.Repeat([]byte("x"), 100<<10)); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(t.TempDir(), "truncated.tar")
	writeFile(t, truncated, buf.Bytes(), 0o644) // 100 KiB of the 1 MiB its header promises
	refuse(t, Recipe{Name: "web", Rootfs: truncated, Command: []string{"/bin/sh"}}, "--rootfs", truncated, "truncated", "./srv/big")
}

// gnuSparseTar is an archive of one old-GNU sparse file (type 'S') of
// realSize bytes holding a single byte at its end. archive/tar reads such
// files but does not write them, so the header is patched by hand.
func gnuSparseTar(t testing.TB, name string, realSize int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: 1, Format: tar.FormatGNU}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	hdr := b[:512]
	hdr[156] = 'S'
	base256(hdr[386:398], realSize-1) // sparse[0].offset: the byte at the end
	base256(hdr[398:410], 1)          // sparse[0].numbytes
	base256(hdr[483:495], realSize)   // realsize
	chk := 0
	for i, c := range hdr {
		if i >= 148 && i < 156 {
			c = ' '
		}
		chk += int(c)
	}
	copy(hdr[148:156], fmt.Sprintf("%06o\x00 ", chk))
	return b
}

// base256 writes n into a tar numeric field in GNU's binary form, which
// holds sizes past the 8 GiB of eleven octal digits.
func base256(field []byte, n int64) {
	clear(field)
	binary.BigEndian.PutUint64(field[len(field)-8:], uint64(n))
	field[0] |= 0x80
}

func TestContentUpToTheLimitIsAcceptedAndNotAByteMore(t *testing.T) {
	var c content
	if err := c.add("--rootfs x.tar", "./a", MaxImageBytes-2*blockSize); err != nil {
		t.Fatalf("content one block under the limit: %v", err)
	}
	if err := c.add("--rootfs x.tar", "./empty", 0); err != nil {
		t.Fatalf("content exactly at the limit: %v", err)
	}
	if err := c.add("--rootfs x.tar", "./one-more", 1); err == nil {
		t.Fatal("a byte over the limit was accepted")
	}
	// A header may claim up to 2^63-1 bytes: the sum must not wrap around.
	if err := c.add("--rootfs x.tar", "./huge", 1<<63-1); err == nil {
		t.Fatal("a size near the int64 maximum was accepted")
	}
	if c.bytes != MaxImageBytes || c.entries != 2 {
		t.Errorf("after refusals the content is %+v, want the %d bytes and 2 entries accepted", c, MaxImageBytes)
	}
}
