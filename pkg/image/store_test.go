package image

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestStoreGetsAnImageByNameDigestOrPrefix(t *testing.T) {
	s := newStore(t)
	m := bake(t, s, Recipe{Name: "hello", Binary: helloBin}).Manifest
	for _, ref := range []string{"hello", m.Digest, m.Digest[:12], m.ShortDigest()} {
		got, err := s.Get(ref)
		if err != nil || got.Digest != m.Digest || got.Name != "hello" {
			t.Errorf("Get(%q) = %+v, %v; want the hello image", ref, got, err)
		}
	}
	for _, ref := range []string{"nope", m.Digest[:11], strings.Repeat("?", 12), strings.Repeat("*", 12), "../names/hello", m.Digest + "0"} {
		if got, err := s.Get(ref); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) = %+v, %v; want ErrNotFound", ref, got, err)
		}
	}
}

func TestStoreGetSaysAPrefixIsAmbiguous(t *testing.T) {
	s := newStore(t)
	m := bake(t, s, Recipe{Name: "hello", Binary: helloBin}).Manifest
	// A second image whose digest shares the first 12 digits.
	twin := m.Digest[:12] + strings.Repeat("0", 52)
	if err := os.CopyFS(filepath.Join(s.Root, "images", twin), os.DirFS(filepath.Join(s.Root, "images", m.Digest))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(m.Digest[:12]); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("Get of a prefix two images share: %v, want an error saying it is ambiguous", err)
	}
	if got, err := s.Get(m.Digest); err != nil || got.Digest != m.Digest {
		t.Errorf("Get of the full digest = %v, %v", got, err)
	}
}

func TestStoreListsNamedImagesSortedByName(t *testing.T) {
	s := newStore(t)
	for _, name := range []string{"web", "api", "worker"} {
		bake(t, s, Recipe{Name: name, Binary: helloBin})
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range list {
		names = append(names, m.Name)
	}
	if !slices.Equal(names, []string{"api", "web", "worker"}) {
		t.Errorf("List gives %q, want api, web, worker", names)
	}
	empty, err := newStore(t).List()
	if err != nil || len(empty) != 0 {
		t.Errorf("List of an empty store = %v, %v", empty, err)
	}
}

func TestStoreRemoveDeletesTheImageAndItsName(t *testing.T) {
	s := newStore(t)
	m := bake(t, s, Recipe{Name: "hello", Binary: helloBin}).Manifest
	other := bake(t, s, Recipe{Name: "other", Binary: helloBin}).Manifest
	if err := s.Remove("hello"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Root, "images", m.Digest)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the image directory is still there after Remove: %v", err)
	}
	if _, err := os.Lstat(s.namePath("hello")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the name is still there after Remove: %v", err)
	}
	if _, err := s.Get("hello"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Remove: %v, want ErrNotFound", err)
	}
	if got, err := s.Get("other"); err != nil || got.Digest != other.Digest {
		t.Errorf("Remove of hello took other with it: %v, %v", got, err)
	}
	if _, err := os.Stat(other.Kernel); err != nil {
		t.Errorf("Remove took the kernel another image boots: %v", err)
	}
	if err := s.Remove("hello"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a second Remove: %v, want ErrNotFound", err)
	}
}

func TestStoreRemoveOfAnOldImageByDigestKeepsTheNameOnTheNewOne(t *testing.T) {
	s := newStore(t)
	old := bake(t, s, Recipe{Name: "web", Binary: helloBin, Env: []string{"V=1"}}).Manifest
	cur := bake(t, s, Recipe{Name: "web", Binary: helloBin, Env: []string{"V=2"}}).Manifest
	if err := s.Remove(old.ShortDigest()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Root, "images", old.Digest)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the old image is still there: %v", err)
	}
	if got, err := s.Get("web"); err != nil || got.Digest != cur.Digest {
		t.Errorf("after removing the old web image, web is %+v, %v; want the current one", got, err)
	}
}

func TestStoreRemoveLeavesOtherUnnamedImagesToPrune(t *testing.T) {
	// An instance may still boot from an image a rebake unnamed; only
	// Prune, told what is in use, may take it.
	s := newStore(t)
	old := bake(t, s, Recipe{Name: "web", Binary: helloBin, Env: []string{"V=1"}}).Manifest
	bake(t, s, Recipe{Name: "web", Binary: helloBin, Env: []string{"V=2"}})
	bake(t, s, Recipe{Name: "api", Binary: helloBin})
	if err := s.Remove("api"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old.Disk); err != nil {
		t.Errorf("Remove(api) took the unnamed old web image: %v", err)
	}
}

func TestStorePruneSparesImagesABakeMayNotHaveNamedYet(t *testing.T) {
	s := newStore(t)
	young := bake(t, s, Recipe{Name: "web", Binary: helloBin, Env: []string{"V=1"}}).Manifest
	bake(t, s, Recipe{Name: "web", Binary: helloBin, Env: []string{"V=2"}})
	if err := s.Prune(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(young.Disk); err != nil {
		t.Errorf("Prune took an unnamed image younger than %s: %v", pruneGrace, err)
	}
}

// ageImages makes every image look older than it is.
func ageImages(t *testing.T, s *Store, by time.Duration) {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(s.Root, "images"))
	for _, e := range entries {
		old := time.Now().Add(-by)
		if err := os.Chtimes(filepath.Join(s.Root, "images", e.Name()), old, old); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStorePruneKeepsNamedImagesAndThoseInUse(t *testing.T) {
	s := newStore(t)
	inUse := bake(t, s, Recipe{Name: "web", Binary: helloBin, Env: []string{"V=1"}}).Manifest
	unused := bake(t, s, Recipe{Name: "web", Binary: helloBin, Env: []string{"V=2"}}).Manifest
	named := bake(t, s, Recipe{Name: "web", Binary: helloBin, Env: []string{"V=3"}}).Manifest
	ageImages(t, s, 2*pruneGrace)
	var asked []string
	err := s.Prune(func(digest string) bool {
		asked = append(asked, digest)
		return digest == inUse.Digest
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		m    *Manifest
		kept bool
	}{{inUse, true}, {unused, false}, {named, true}} {
		_, err := os.Stat(filepath.Join(s.Root, "images", c.m.Digest))
		if kept := err == nil; kept != c.kept {
			t.Errorf("image %s (env %q): kept=%v after Prune, want %v", c.m.ShortDigest(), c.m.Env, kept, c.kept)
		}
	}
	if !slices.Contains(asked, inUse.Digest) {
		t.Errorf("Prune did not ask about the unnamed image %s", inUse.ShortDigest())
	}
	if _, err := os.Stat(named.Kernel); err != nil {
		t.Errorf("Prune took the kernel the kept images boot: %v", err)
	}
}

func TestStorePruneRemovesKernelsNoImageBoots(t *testing.T) {
	s := newStore(t)
	m := bake(t, s, Recipe{Name: "hello", Binary: helloBin}).Manifest
	stale := filepath.Join(s.Root, "kernels", "5.10.0-1-cloud-amd64-1-1")
	young := filepath.Join(s.Root, "kernels", "5.10.0-2-cloud-amd64-1-1")
	writeFile(t, filepath.Join(stale, "vmlinuz"), []byte("old kernel"), 0o644)
	writeFile(t, filepath.Join(young, "vmlinuz"), []byte("a bake placing it now"), 0o644)
	hourAgo := time.Now().Add(-time.Hour)
	for _, d := range []string{stale, filepath.Dir(m.Kernel)} {
		if err := os.Chtimes(d, hourAgo, hourAgo); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Prune(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Prune kept a kernel no image boots: %v", err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("Prune took a kernel a bake may be placing: %v", err)
	}
	if _, err := os.Stat(m.Kernel); err != nil {
		t.Errorf("Prune took the kernel hello boots: %v", err)
	}
}
