package image

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// ageShared makes the store's kernels, disks and initrds look older than
// Prune's grace, as a bake an hour ago left them.
func ageShared(t *testing.T, s *Store) {
	t.Helper()
	old := time.Now().Add(-2 * pruneGrace)
	for _, kind := range sharedKinds {
		entries, _ := os.ReadDir(filepath.Join(s.Root, kind))
		for _, e := range entries {
			if err := os.Chtimes(filepath.Join(s.Root, kind, e.Name()), old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func count(t *testing.T, s *Store, kind string) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.Root, kind))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func TestImagesOfTheSameFilesShareOneDiskAndInitrd(t *testing.T) {
	s := newStore(t)
	web := bake(t, s, Recipe{Name: "web", Binary: helloBin, Port: 8080})
	disk := stat(t, web.Manifest.Disk)
	api := bake(t, s, Recipe{Name: "api", Binary: helloBin, Command: []string{"/app/hello", "-api"}, Env: []string{"MODE=api"}, Port: 9090})
	if api.Manifest.Digest == web.Manifest.Digest {
		t.Fatal("two services with other commands, env and ports have one image digest")
	}
	if api.Manifest.Disk != web.Manifest.Disk || api.Manifest.Initrd != web.Manifest.Initrd {
		t.Errorf("api uses disk %s initrd %s, want web's %s and %s", api.Manifest.Disk, api.Manifest.Initrd, web.Manifest.Disk, web.Manifest.Initrd)
	}
	if web.SharedDisk || !api.SharedDisk {
		t.Errorf("shared disk: web %v api %v, want the second bake to say it reused the disk", web.SharedDisk, api.SharedDisk)
	}
	if got := stat(t, api.Manifest.Disk); !got.ModTime().Equal(disk.ModTime()) {
		t.Error("the second bake wrote the shared disk")
	}
	if api.Manifest.DiskVirtual != web.Manifest.DiskVirtual || api.Manifest.DiskVirtual <= 0 {
		t.Errorf("disk virtual sizes %d and %d", web.Manifest.DiskVirtual, api.Manifest.DiskVirtual)
	}
	if n, m := count(t, s, "disks"), count(t, s, "initrds"); n != 1 || m != 1 {
		t.Errorf("the store holds %d disks and %d initrds, want one of each", n, m)
	}
}

func TestImagesOfOtherFilesHaveTheirOwnDiskAndShareTheInitrd(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.conf"), filepath.Join(dir, "b.conf")
	writeFile(t, a, []byte("a\n"), 0o644)
	writeFile(t, b, []byte("b\n"), 0o644)
	s := newStore(t)
	one := bake(t, s, Recipe{Name: "one", Binary: helloBin, Copies: []Copy{{Src: a, Dst: "/etc/app.conf"}}}).Manifest
	two := bake(t, s, Recipe{Name: "two", Binary: helloBin, Copies: []Copy{{Src: b, Dst: "/etc/app.conf"}}}).Manifest
	if one.Disk == two.Disk {
		t.Errorf("images of other copied files share the disk %s", one.Disk)
	}
	if one.Initrd != two.Initrd {
		t.Errorf("images of the same init and modules have initrds %s and %s", one.Initrd, two.Initrd)
	}
}

func TestRemoveDeletesASharedDiskWithTheLastImageThatUsesIt(t *testing.T) {
	s := newStore(t)
	web := bake(t, s, Recipe{Name: "web", Binary: helloBin}).Manifest
	api := bake(t, s, Recipe{Name: "api", Binary: helloBin, Env: []string{"MODE=api"}}).Manifest
	ageShared(t, s)
	if err := s.Remove("web"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{api.Disk, api.Initrd, api.Kernel} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("removing web took %s, which api still uses: %v", p, err)
		}
	}
	if err := s.Remove("api"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{web.Disk, web.Initrd, web.Kernel} {
		if _, err := os.Stat(filepath.Dir(p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there after its last image was removed: %v", p, err)
		}
	}
}

func TestPruneKeepsTheDiskOfAnImageInUse(t *testing.T) {
	s := newStore(t)
	old := bake(t, s, Recipe{Name: "web", Binary: helloBin, Env: []string{"V=1"}}).Manifest
	bake(t, s, Recipe{Name: "web", Binary: helloBin, Env: []string{"V=2"}, Copies: []Copy{{Src: helloBin, Dst: "/srv/x"}}})
	ageImages(t, s, 2*pruneGrace)
	ageShared(t, s)
	if err := s.Prune(func(d string) bool { return d == old.Digest }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old.Disk); err != nil {
		t.Errorf("Prune took the disk of an unnamed image in use: %v", err)
	}
	if err := s.Prune(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(old.Disk)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Prune kept the disk of an image it removed, which no other image uses: %v", err)
	}
}

func TestBakeSparesAnAgedDiskItReusesFromAConcurrentPrune(t *testing.T) {
	s := newStore(t)
	web := bake(t, s, Recipe{Name: "web", Binary: helloBin}).Manifest
	ageShared(t, s)
	bake(t, s, Recipe{Name: "api", Binary: helloBin, Env: []string{"MODE=api"}})
	if fi := stat(t, filepath.Dir(web.Disk)); time.Since(fi.ModTime()) > pruneGrace {
		t.Errorf("a bake reusing a disk left it looking %s old, which Prune may take before the image is named", time.Since(fi.ModTime()))
	}
}

// A store from before disks were shared: the disk and initrd inside the
// image's own directory, the manifest's absolute paths pointing there.
func TestImagesOfAnOldStoreKeepTheirDiskInTheirOwnDirectory(t *testing.T) {
	s := newStore(t)
	m := bake(t, s, Recipe{Name: "legacy", Binary: helloBin}).Manifest
	dir := filepath.Join(s.Root, "images", m.Digest)
	for _, p := range []*string{&m.Disk, &m.Initrd} {
		moved := filepath.Join(dir, filepath.Base(*p))
		if err := os.Rename(*p, moved); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Dir(*p)); err != nil {
			t.Fatal(err)
		}
		*p = moved
	}
	if err := writeJSON(filepath.Join(dir, "manifest.json"), m); err != nil {
		t.Fatal(err)
	}
	bake(t, s, Recipe{Name: "new", Binary: helloBin, Env: []string{"A=1"}})
	ageShared(t, s)
	if err := s.Prune(nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get("legacy")
	if err != nil || got.Disk != filepath.Join(dir, "disk.qcow2") {
		t.Fatalf("Get(legacy) = %+v, %v; want the disk in its own directory", got, err)
	}
	fsck(t, rawDisk(t, got))
	if err := s.Remove("legacy"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("removing the old image left %s: %v", dir, err)
	}
	if _, err := s.Get("new"); err != nil {
		t.Errorf("removing the old image took the new one: %v", err)
	}
}
