package guestinit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmfleet/vmfleet/pkg/guestlayout"
)

type mount struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
}

func (m mount) do(root string) error {
	target := filepath.Join(root, m.target)
	if err := os.MkdirAll(target, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(m.source, target, m.fstype, m.flags, m.data); err != nil {
		return fmt.Errorf("mount %s on %s: %w", m.fstype, target, err)
	}
	return nil
}

// pseudo are the filesystems both the initramfs and the service's root need.
var pseudo = []mount{
	{"proc", "/proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
	{"sysfs", "/sys", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
	{"devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, "mode=0755"},
}

// serviceMounts come on top of pseudo inside the service's root.
var serviceMounts = []mount{
	{"devpts", "/dev/pts", "devpts", unix.MS_NOSUID | unix.MS_NOEXEC, "gid=5,mode=620,ptmxmode=666"},
	{"tmpfs", "/dev/shm", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777"},
	{"tmpfs", "/run", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=0755"},
	{"tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777"},
}

func mountPseudo(_ context.Context, _ *Init) error {
	for _, m := range pseudo {
		if err := m.do("/"); err != nil {
			return err
		}
	}
	return nil
}

// mountRoot mounts the image's disk and what the service expects inside it.
func mountRoot(ctx context.Context, _ *Init) error {
	// virtio_blk probes asynchronously: the node appears shortly after the
	// module loads.
	if err := waitFor(ctx, RootDevice, 10*time.Second); err != nil {
		return err
	}
	root := mount{RootDevice, guestlayout.NewRoot, "ext4", 0, ""}
	if err := root.do("/"); err != nil {
		return err
	}
	for _, m := range append(pseudo, serviceMounts...) {
		if err := m.do(guestlayout.NewRoot); err != nil {
			return err
		}
	}
	return nil
}

func waitFor(ctx context.Context, path string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not appear within %s", path, limit)
		case <-time.After(5 * time.Millisecond):
		}
	}
}
