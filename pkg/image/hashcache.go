package image

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/google/renameio/v2"
)

// hashCache remembers the content hash of input files by what stat says
// about them, so a re-bake of unchanged inputs reads none of their bytes.
// An entry is trusted while the file's device, inode, size, mtime and ctime
// (to the nanosecond) are those it was hashed with: any write or utimes
// moves the ctime, and a file replaced by a rename has another inode. What
// it cannot see is a write that leaves all of them as they were, which
// only a write in the same timestamp granule as the hash can do: such
// ("racy") entries are hashed again, as git treats its racy-clean index
// entries.
type hashCache struct {
	path  string
	now   func() time.Time
	mu    sync.Mutex
	files map[string]hashEntry
	dirty bool
	read  int // files hashed from their bytes: what the cache failed to spare
}

// hashEntry is one file's hash and the stat it was hashed with.
type hashEntry struct {
	Dev      uint64 `json:"dev"`
	Ino      uint64 `json:"ino"`
	Size     int64  `json:"size"`
	Mtime    int64  `json:"mtime_ns"`
	Ctime    int64  `json:"ctime_ns"`
	HashedAt int64  `json:"hashed_at_ns"` // when the reading began
	Sum      string `json:"sha256"`
}

// racyWindow is the coarsest timestamp granule of the filesystems inputs
// live on (FAT's 2 s), plus the kernel's coarse clock: a file changed this
// close to its hashing may have changed again without its stat showing it.
const racyWindow = 2 * time.Second

// cacheMaxAge drops entries hashed this long ago when the cache is next
// written, so files long gone do not stay in it forever; one still in use
// costs a single re-hash.
const cacheMaxAge = 30 * 24 * time.Hour

// loadHashCache reads the cache at p; a missing or unreadable one is empty,
// as it only ever spares work.
func loadHashCache(p string) *hashCache {
	c := &hashCache{path: p, now: time.Now, files: map[string]hashEntry{}}
	if b, err := os.ReadFile(p); err == nil {
		if json.Unmarshal(b, &c.files) != nil {
			c.files = map[string]hashEntry{}
		}
	}
	return c
}

// sum is the SHA-256 of the file at p, from the cache when stat shows it
// unchanged since a hash the cache can trust. A nil cache hashes every time.
func (c *hashCache) sum(p string) ([]byte, error) {
	if c == nil {
		return hashFile(p)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("hash %s: %w", p, err)
	}
	key := statKey(fi)
	c.mu.Lock()
	e, ok := c.files[p]
	c.mu.Unlock()
	if ok && e.matches(key) && !e.racy() {
		if b, err := hex.DecodeString(e.Sum); err == nil && len(b) == sha256.Size {
			return b, nil
		}
	}
	key.HashedAt = c.now().UnixNano()
	b, err := hashFile(p)
	if err != nil {
		return nil, err
	}
	key.Sum = hex.EncodeToString(b)
	c.mu.Lock()
	c.files[p] = key
	c.dirty = true
	c.read++
	c.mu.Unlock()
	return b, nil
}

func statKey(fi fs.FileInfo) hashEntry {
	e := hashEntry{Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		e.Dev, e.Ino = st.Dev, st.Ino
		e.Ctime = st.Ctim.Sec*1e9 + st.Ctim.Nsec
	}
	return e
}

func (e hashEntry) matches(k hashEntry) bool {
	return e.Dev == k.Dev && e.Ino == k.Ino && e.Size == k.Size && e.Mtime == k.Mtime && e.Ctime == k.Ctime
}

// racy is an entry whose file changed within racyWindow of its hashing (or
// claims to have changed after it): a later write in the same granule
// would not show in its stat.
func (e hashEntry) racy() bool {
	changed := max(e.Mtime, e.Ctime)
	return changed >= e.HashedAt-int64(racyWindow)
}

// save writes the cache if anything was hashed, atomically: a crash leaves
// the old cache or the new one, and concurrent bakes lose at most each
// other's new entries.
func (c *hashCache) save() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dirty {
		return nil
	}
	oldest := c.now().Add(-cacheMaxAge).UnixNano()
	for p, e := range c.files {
		if e.HashedAt < oldest {
			delete(c.files, p)
		}
	}
	b, err := json.Marshal(c.files)
	if err != nil {
		return err
	}
	if err := renameio.WriteFile(c.path, b, 0o600); err != nil {
		return fmt.Errorf("save the hash cache: %w", err)
	}
	c.dirty = false
	return nil
}

func hashFile(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("hash %s: %w", p, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("hash %s: %w", p, err)
	}
	return h.Sum(nil), nil
}
