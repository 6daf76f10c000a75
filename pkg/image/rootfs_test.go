package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// A symlink target longer than the 60 bytes an ext4 inode holds inline.
var longTarget = "../" + strings.Repeat("long-directory-name/", 4) + "busybox"

// rootfsEntries is a small root filesystem of the kinds of entries docker
// export and tar produce.
func rootfsEntries(t testing.TB) []tarEntry {
	busybox := readFile(t, "/bin/busybox")
	return []tarEntry{
		{h: tar.Header{Typeflag: tar.TypeDir, Name: "./", Mode: 0o755}},
		{h: tar.Header{Typeflag: tar.TypeDir, Name: "./bin/", Mode: 0o755}},
		{h: tar.Header{Typeflag: tar.TypeReg, Name: "./bin/busybox", Mode: 0o755}, data: busybox},
		{h: tar.Header{Typeflag: tar.TypeSymlink, Name: "./bin/sh", Linkname: "busybox", Mode: 0o777}},
		{h: tar.Header{Typeflag: tar.TypeSymlink, Name: "./bin/long", Linkname: longTarget, Mode: 0o777}},
		{h: tar.Header{Typeflag: tar.TypeReg, Name: "./bin/su-helper", Mode: 0o4755}, data: []byte("#!/bin/sh\n")},
		{h: tar.Header{Typeflag: tar.TypeDir, Name: "./www/", Mode: 0o755}},
		{h: tar.Header{Typeflag: tar.TypeReg, Name: "./www/index.html", Mode: 0o644}, data: []byte("<h1>busybox</h1>\n")},
		{h: tar.Header{Typeflag: tar.TypeLink, Name: "./www/copy.html", Linkname: "./www/index.html", Mode: 0o644}},
		{h: tar.Header{Typeflag: tar.TypeDir, Name: "./dev/", Mode: 0o755}},
		{h: tar.Header{Typeflag: tar.TypeChar, Name: "./dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3}},
		{h: tar.Header{Typeflag: tar.TypeFifo, Name: "./dev/initctl", Mode: 0o600}},
		{h: tar.Header{Typeflag: tar.TypeDir, Name: "./var/", Mode: 0o755}},
		{h: tar.Header{Typeflag: tar.TypeDir, Name: "./var/tmp/", Mode: 0o1777}},
		{h: tar.Header{Typeflag: tar.TypeDir, Name: "./var/mail/", Mode: 0o2775}},
		{h: tar.Header{Typeflag: tar.TypeDir, Name: "./home/app/", Mode: 0o700, Uid: 1000, Gid: 1000}},
		{h: tar.Header{Typeflag: tar.TypeReg, Name: "./home/app/notes", Mode: 0o600, Uid: 1000, Gid: 1000}, data: []byte("mine\n")},
		// Some tools list a directory after what it holds.
		{h: tar.Header{Typeflag: tar.TypeReg, Name: "./srv/data/file", Mode: 0o644}, data: []byte("data\n")},
		{h: tar.Header{Typeflag: tar.TypeDir, Name: "./srv/data/", Mode: 0o750}},
	}
}

type tarEntry struct {
	h    tar.Header
	data []byte
}

func tarBytes(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.h
		h.Size = int64(len(e.data))
		h.ModTime = time.Unix(1700000000, 0)
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// compress compresses b as gzip, xz or zstd ("" leaves it as it is).
func compress(t testing.TB, b []byte, how string) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	var err error
	switch how {
	case "":
		return b
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "xz":
		w, err = xz.NewWriter(&buf)
	case "zstd":
		w, err = zstd.NewWriter(&buf)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBakeOfARootfsTarballWritesItsFilesLinksAndModes(t *testing.T) {
	tarball := tarBytes(t, rootfsEntries(t))
	for _, how := range []string{"", "gzip", "xz", "zstd"} {
		name := how
		if name == "" {
			name = "plain"
		}
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "rootfs.tar")
			writeFile(t, p, compress(t, tarball, how), 0o644)
			s := newStore(t)
			m := bake(t, s, Recipe{Name: "busybox", Rootfs: p, Command: []string{"/bin/busybox", "httpd", "-f", "-h", "/www"}, Port: 80}).Manifest
			if m.Source != "rootfs" {
				t.Errorf("manifest source %q, want rootfs", m.Source)
			}
			raw := rawDisk(t, m)
			fsck(t, raw)

			if got := dump(t, raw, "/bin/busybox"); !bytes.Equal(got, readFile(t, "/bin/busybox")) {
				t.Error("/bin/busybox in the image differs from the one in the tarball")
			}
			if got := linkTarget(t, raw, "/bin/sh"); got != "busybox" {
				t.Errorf("/bin/sh points at %q, want busybox", got)
			}
			if got := linkTarget(t, raw, "/bin/long"); got != longTarget {
				t.Errorf("/bin/long points at %q, want %q", got, longTarget)
			}
			for _, p := range []string{"/www/index.html", "/www/copy.html"} {
				if got := string(dump(t, raw, p)); got != "<h1>busybox</h1>\n" {
					t.Errorf("%s is %q, want the hard-linked file's contents", p, got)
				}
				if typ := inodeType(t, raw, p); typ != "regular" {
					t.Errorf("%s is a %s, want a regular file", p, typ)
				}
			}
			// The hard link stays one: one inode with two names.
			if a, b := statField(t, raw, "/www/index.html", "Inode:"), statField(t, raw, "/www/copy.html", "Inode:"); a != b {
				t.Errorf("/www/copy.html is inode %s, /www/index.html %s: want the hard link kept", b, a)
			}
			if n := statField(t, raw, "/www/index.html", "Links:"); n != "2" {
				t.Errorf("/www/index.html has %s links, want 2", n)
			}
			for p, want := range map[string]string{
				"/bin/busybox":    "0755",
				"/bin/su-helper":  "04755",
				"/www/index.html": "0644",
				"/var/tmp":        "01777",
				"/var/mail":       "02775",
				"/home/app":       "0700",
				"/home/app/notes": "0600",
				"/srv/data":       "0750",
			} {
				if got := inodeMode(t, raw, p); got != want {
					t.Errorf("%s has mode %s, want %s as in the tarball", p, got, want)
				}
			}
			for _, p := range []string{"/home/app", "/home/app/notes"} {
				if uid, gid := owner(t, raw, p); uid != "1000" || gid != "1000" {
					t.Errorf("%s is owned by %s:%s, want 1000:1000 as in the tarball", p, uid, gid)
				}
			}
			// Empty once its devices are skipped, /dev stays: the guest mounts on it.
			if typ := inodeType(t, raw, "/dev"); typ != "directory" {
				t.Errorf("/dev is a %s, want the empty directory the tarball has", typ)
			}
			for _, p := range []string{"/dev/null", "/dev/initctl"} {
				if out := debugfs(t, raw, "stat "+p); !strings.Contains(out, "File not found") {
					t.Errorf("the special file %s was not skipped:\n%s", p, out)
				}
			}
		})
	}
}

func TestBakeOfARootfsTarballNeedsACommand(t *testing.T) {
	p := filepath.Join(t.TempDir(), "rootfs.tar")
	writeFile(t, p, tarBytes(t, rootfsEntries(t)), 0o644)
	s := newStore(t)
	_, err := s.Bake(t.Context(), Recipe{Name: "busybox", Rootfs: p}, testInputs(t))
	if err == nil || !strings.Contains(err.Error(), "needs a command") {
		t.Fatalf("bake of a tarball without a command: %v, want an error asking for one", err)
	}
	assertNothingLeft(t, s, "busybox")
}

func TestBakeOfATarballOfManySmallFilesHasAnInodeForEach(t *testing.T) {
	// Empty files take no blocks, so a filesystem sized by bytes alone
	// has too few inodes for them.
	var entries []tarEntry
	for d := range 30 {
		entries = append(entries, tarEntry{h: tar.Header{Typeflag: tar.TypeDir, Name: fmt.Sprintf("usr/lib/d%d/", d), Mode: 0o755}})
		for f := range 900 {
			entries = append(entries, tarEntry{h: tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("usr/lib/d%d/__init__%d.py", d, f), Mode: 0o644}})
		}
	}
	p := filepath.Join(t.TempDir(), "many.tar")
	writeFile(t, p, tarBytes(t, entries), 0o644)
	m := bake(t, newStore(t), Recipe{Name: "many", Rootfs: p, Command: []string{"/usr/bin/python3"}}).Manifest
	raw := rawDisk(t, m)
	fsck(t, raw)
	if typ := inodeType(t, raw, "/usr/lib/d29/__init__899.py"); typ != "regular" {
		t.Errorf("the last file is a %s", typ)
	}
}
