package ext4

import (
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func newImage(t *testing.T, size int64, inodes uint32) (*Writer, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fs.raw")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	w, err := Create(f, size, inodes, "test")
	if err != nil {
		t.Fatal(err)
	}
	return w, p
}

func tool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// stat is debugfs's stat of p.
func stat(t *testing.T, img, p string) string { return tool(t, "debugfs", "-R", "stat "+p, img) }

func TestAFilesystemOfFilesDirectoriesAndLinksIsCleanAndReadsBack(t *testing.T) {
	w, img := newImage(t, 64<<20, 4096)
	when := time.Unix(1700000000, 0)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.Mkdir("etc", Meta{Mode: 0o755, Mtime: when}))
	must(w.WriteFile("etc/hostname", strings.NewReader("vm\n"), 3, Meta{Mode: 0o644, Mtime: when}))
	must(w.WriteFile("/bin/su", strings.NewReader("#!/bin/sh\n"), 10, Meta{Mode: 0o4755 | os.ModeSetuid}))
	must(w.WriteFile("home/app/empty", strings.NewReader(""), 0, Meta{Mode: 0o600, Uid: 1000, Gid: 1000}))
	must(w.Mkdir("var/tmp", Meta{Mode: 0o777 | os.ModeSticky}))
	must(w.Mkdir("home/app", Meta{Mode: 0o700, Uid: 1000, Gid: 1000})) // listed after what it holds
	must(w.Symlink("hostname", "etc/short", Meta{}))
	long := strings.Repeat("long-name/", 10) + "target"
	must(w.Symlink(long, "etc/long", Meta{}))
	must(w.Link("etc/hostname", "etc/hostname.bak"))
	// A directory of more entries than one block holds.
	for i := range 300 {
		name := "many/" + strings.Repeat("x", 40) + string(rune('a'+i%26)) + strings.Repeat("y", i/26)
		must(w.WriteFile(name, strings.NewReader("z"), 1, Meta{Mode: 0o644}))
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 3<<20/16+100) // over 3 MiB, not block-aligned
	must(w.WriteFile("data/big", bytes.NewReader(big), int64(len(big)), Meta{Mode: 0o644}))
	must(w.Close())

	tool(t, "e2fsck", "-fn", img)
	if out := tool(t, "dumpe2fs", "-h", img); !strings.Contains(out, "has_journal") || !strings.Contains(out, "Total journal size:       4096k") {
		t.Errorf("dumpe2fs finds no 4 MiB journal:\n%s", out)
	}
	dump := filepath.Join(t.TempDir(), "big")
	tool(t, "debugfs", "-R", "dump /data/big "+dump, img)
	if got, _ := os.ReadFile(dump); sha256.Sum256(got) != sha256.Sum256(big) {
		t.Errorf("/data/big reads back as %d other bytes", len(got))
	}
	for p, want := range map[string][]string{
		"/bin/su":           {"Mode:  04755", "Type: regular"},
		"/home/app":         {"Mode:  0700", "User:  1000", "Group:  1000", "Type: directory"},
		"/var/tmp":          {"Mode:  01777"},
		"/etc/hostname":     {"Links: 2", "Size: 3"},
		"/etc/hostname.bak": {"Links: 2"},
		"/etc/short":        {"Type: symlink", `Fast link dest: "hostname"`},
		"/etc/long":         {"Type: symlink", "Size: " + strconv.Itoa(len(long))},
		"/etc":              {"ctime: 0x6553f100"},
	} {
		out := stat(t, img, p)
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("debugfs stat %s lacks %q:\n%s", p, w, out)
			}
		}
	}
	if a, b := inode(t, img, "/etc/hostname"), inode(t, img, "/etc/hostname.bak"); a != b {
		t.Errorf("the hard link has inode %s, the file %s", b, a)
	}
}

func inode(t *testing.T, img, p string) string {
	out := stat(t, img, p)
	f := strings.Fields(out[strings.Index(out, "Inode:"):])
	return f[1]
}

// A file of more extents than the inode holds needs an extent tree leaf:
// here, one spread over more groups than four.
func TestAFileOverManyGroupsIsClean(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 700 MiB")
	}
	w, img := newImage(t, 800<<20, 1024)
	size := int64(700 << 20)
	if err := w.WriteFile("huge", io.LimitReader(zeros{}, size), size, Meta{Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	tool(t, "e2fsck", "-fn", img)
	if out := stat(t, img, "/huge"); !strings.Contains(out, "Size: 734003200") || !strings.Contains(out, "EXTENTS:\n(ETB0)") {
		t.Errorf("debugfs stat /huge:\n%s", out)
	}
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) { clear(b); return len(b), nil }

func TestAFilesystemOutOfInodesSaysSo(t *testing.T) {
	w, _ := newImage(t, 16<<20, 16)
	var err error
	for i := 0; err == nil && i < 100; i++ {
		err = w.Mkdir("d"+strconv.Itoa(i), Meta{Mode: 0o755})
	}
	if err == nil || !strings.Contains(err.Error(), "inodes") {
		t.Errorf("mkdir past the last inode: %v, want an error saying the inodes ran out", err)
	}
}

func TestAFilesystemOutOfBlocksSaysSo(t *testing.T) {
	w, _ := newImage(t, 16<<20, 64)
	err := w.WriteFile("big", io.LimitReader(zeros{}, 32<<20), 32<<20, Meta{Mode: 0o644})
	if err == nil || !strings.Contains(err.Error(), "blocks") {
		t.Errorf("a file larger than the filesystem: %v, want an error saying the blocks ran out", err)
	}
}
