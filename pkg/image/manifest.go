package image

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// Manifest describes a baked image. Paths are absolute.
type Manifest struct {
	Name          string    `json:"name"`
	Digest        string    `json:"digest"`
	Source        string    `json:"source"` // "binary" or "rootfs"
	Command       []string  `json:"command"`
	Env           []string  `json:"env"`
	Port          int       `json:"port"`
	KernelVersion string    `json:"kernel_version"`
	Kernel        string    `json:"kernel"`
	Initrd        string    `json:"initrd"`
	Disk          string    `json:"disk"`
	DiskVirtual   int64     `json:"disk_virtual_bytes"` // the filesystem's size as the guest sees it
	SizeBytes     int64     `json:"size_bytes"`         // its disk.qcow2 plus initrd on the host, shared with other images or not
	Created       time.Time `json:"created"`
}

// ShortDigest is the first 12 hex digits, as docker shows image ids.
func (m *Manifest) ShortDigest() string { return m.Digest[:12] }

func readManifest(p string) (*Manifest, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", p, err)
	}
	return &m, nil
}

// writeJSON writes a manifest for its owner alone: it holds the image's
// environment, secrets included. QEMU never reads it.
func writeJSON(p string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(p, append(b, '\n'), 0o600)
}
