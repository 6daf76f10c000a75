// Package snapshot keeps templates: a guest booted once per machine shape
// and saved just before it reads anything that belongs to one instance.
// Each instance of that shape is restored from it instead of booting, then
// takes its own time, entropy, disk and config.
package snapshot

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

// Shape is everything a saved guest has in common with the machines it
// can be restored into: the same kernel and init, the same vCPUs and RAM,
// the same accelerator, firmware and QEMU, and the kernel booted with the
// same command line (its settings live on in the saved kernel).
type Shape struct {
	Kernel    string           `json:"kernel"` // paths; their contents are what count
	Initrd    string           `json:"initrd"`
	Cmdline   string           `json:"cmdline"`
	VCPUs     uint             `json:"vcpus"`
	MemoryMiB uint             `json:"memory_mib"`
	Accel     hypervisor.Accel `json:"accel"`
	Firmware  string           `json:"firmware,omitempty"`
	QEMU      string           `json:"qemu"`
}

// identity is a shape with its files replaced by their digests: two
// images whose initrds are byte for byte the same share a template, and a
// rebuilt init (a new initrd) gets a new one.
type identity struct {
	Kernel, Initrd   string
	Cmdline          string
	VCPUs, MemoryMiB uint
	Accel            hypervisor.Accel
	Firmware, QEMU   string
}

// key names the template of an identity.
func (id identity) key() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%d\n%d\n%s\n%s\n%s\n", id.Kernel, id.Initrd, id.Cmdline, id.VCPUs, id.MemoryMiB, id.Accel, id.Firmware, id.QEMU)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// digests hashes files once per version of them: a launch must not read
// a 20 MB initrd again to find its template.
type digests struct {
	mu   sync.Mutex
	seen map[fileVersion]string
}

type fileVersion struct {
	path  string
	size  int64
	mtime time.Time
	ino   uint64
}

func (d *digests) of(p string) (string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	v := fileVersion{path: p, size: st.Size(), mtime: st.ModTime(), ino: inode(st)}
	d.mu.Lock()
	sum, ok := d.seen[v]
	d.mu.Unlock()
	if ok {
		return sum, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", p, err)
	}
	sum = hex.EncodeToString(h.Sum(nil))
	d.mu.Lock()
	if d.seen == nil {
		d.seen = map[fileVersion]string{}
	}
	d.seen[v] = sum
	d.mu.Unlock()
	return sum, nil
}

func (d *digests) identity(s Shape) (identity, error) {
	k, err := d.of(s.Kernel)
	if err != nil {
		return identity{}, fmt.Errorf("template for %s: %w", s.Kernel, err)
	}
	i, err := d.of(s.Initrd)
	if err != nil {
		return identity{}, fmt.Errorf("template for %s: %w", s.Initrd, err)
	}
	return identity{Kernel: k, Initrd: i, Cmdline: s.Cmdline, VCPUs: s.VCPUs, MemoryMiB: s.MemoryMiB, Accel: s.Accel, Firmware: s.Firmware, QEMU: s.QEMU}, nil
}
