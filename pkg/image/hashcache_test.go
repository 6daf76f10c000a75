package image

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// cachedFile is a file and a cache in a fresh directory whose clock says
// it is later than the file was written by after.
func cachedFile(t *testing.T, content string, after time.Duration) (string, *hashCache) {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "rootfs.tar")
	writeFile(t, p, []byte(content), 0o644)
	c := loadHashCache(filepath.Join(dir, "hashes.json"))
	changed := changeTime(t, p)
	c.now = func() time.Time { return changed.Add(after) }
	return p, c
}

// changeTime is the later of a file's mtime and ctime.
func changeTime(t *testing.T, p string) time.Time {
	t.Helper()
	e := statKey(stat(t, p))
	return time.Unix(0, max(e.Mtime, e.Ctime))
}

func sumOf(t *testing.T, c *hashCache, p string) [sha256.Size]byte {
	t.Helper()
	b, err := c.sum(p)
	if err != nil {
		t.Fatal(err)
	}
	return [sha256.Size]byte(b)
}

func TestHashCacheSparesTheReadOfAFileStatShowsUnchanged(t *testing.T) {
	p, c := cachedFile(t, "rootfs v1", time.Hour)
	want := sha256.Sum256([]byte("rootfs v1"))
	for range 3 {
		if got := sumOf(t, c, p); got != want {
			t.Fatalf("sum %x, want %x", got, want)
		}
	}
	if c.read != 1 {
		t.Errorf("three sums of an unchanged file read it %d times, want once", c.read)
	}
	if err := c.save(); err != nil {
		t.Fatal(err)
	}
	again := loadHashCache(c.path)
	if got := sumOf(t, again, p); got != want || again.read != 0 {
		t.Errorf("the cache read back from the store gave %x after %d reads, want %x and no read", got, again.read, want)
	}
}

func TestHashCacheRehashesAFileWhoseMtimeChanged(t *testing.T) {
	p, c := cachedFile(t, "rootfs v1", time.Hour)
	sumOf(t, c, p)
	later := time.Now().Add(-time.Minute)
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	sumOf(t, c, p)
	if c.read != 2 {
		t.Errorf("a file whose mtime changed was read %d times, want again", c.read)
	}
}

// What a cache keyed on size and mtime alone would miss: new bytes of the
// same size, the mtime put back. The write and the utimes move the ctime,
// which the cache compares too, so the new content is hashed.
func TestHashCacheSeesNewContentOfTheSameSizeWithTheMtimePutBack(t *testing.T) {
	p, c := cachedFile(t, "rootfs v1", time.Hour)
	mtime := stat(t, p).ModTime()
	sumOf(t, c, p)
	time.Sleep(10 * time.Millisecond) // past the kernel's coarse clock tick
	writeFile(t, p, []byte("rootfs v2"), 0o644)
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if !stat(t, p).ModTime().Equal(mtime) || stat(t, p).Size() != int64(len("rootfs v1")) {
		t.Fatal("the test did not keep the size and mtime")
	}
	c.now = func() time.Time { return changeTime(t, p).Add(time.Hour) }
	if got, want := sumOf(t, c, p), sha256.Sum256([]byte("rootfs v2")); got != want {
		t.Errorf("after a same-size rewrite with the mtime put back the sum is %x, want the new content's %x", got, want)
	}
}

func TestHashCacheRehashesAnEntryHashedInTheGranuleTheFileChangedIn(t *testing.T) {
	p, c := cachedFile(t, "rootfs v1", 0) // hashed the instant it was written
	sumOf(t, c, p)
	c.now = func() time.Time { return changeTime(t, p).Add(time.Hour) }
	sumOf(t, c, p)
	if c.read != 2 {
		t.Fatalf("a racy entry was trusted: %d reads, want 2", c.read)
	}
	// Hashed again well after the change, the entry is clean.
	sumOf(t, c, p)
	if c.read != 2 {
		t.Errorf("an entry hashed long after its file changed was not trusted: %d reads, want 2", c.read)
	}
}

func TestHashCacheThatCannotBeReadIsEmpty(t *testing.T) {
	p, c := cachedFile(t, "rootfs v1", time.Hour)
	writeFile(t, c.path, []byte("{not json"), 0o600)
	c = loadHashCache(c.path)
	c.now = func() time.Time { return changeTime(t, p).Add(time.Hour) }
	if got, want := sumOf(t, c, p), sha256.Sum256([]byte("rootfs v1")); got != want {
		t.Errorf("sum %x with a corrupt cache, want %x", got, want)
	}
}

func TestBakeCachesTheHashOfEachFileOfACopiedTree(t *testing.T) {
	static := t.TempDir()
	writeFile(t, filepath.Join(static, "index.html"), []byte("hi\n"), 0o644)
	writeFile(t, filepath.Join(static, "css", "site.css"), []byte("body{}\n"), 0o644)
	s := newStore(t)
	bake(t, s, Recipe{Name: "hello", Binary: helloBin, Copies: []Copy{{Src: static, Dst: "/srv"}}})
	c := loadHashCache(filepath.Join(s.Root, "hashes.json"))
	for _, p := range []string{filepath.Join(static, "index.html"), filepath.Join(static, "css", "site.css"), helloBin} {
		if _, ok := c.files[p]; !ok {
			t.Errorf("the store's hash cache has no entry for %s", p)
		}
	}
}
