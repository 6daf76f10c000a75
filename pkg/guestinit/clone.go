package guestinit

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vmfleet/vmfleet/pkg/agent"
	"github.com/vmfleet/vmfleet/pkg/guestconfig"
)

// A template guest boots this far and waits: it has loaded every driver
// but those that read what belongs to one instance (its disk and its
// config), so a clone restored from it reads only its own.

// lateModules bind the devices whose contents differ between clones.
var lateModules = map[string]bool{"virtio_blk": true, fwCfgModule: true}

// fwCfgModule reads the config QEMU took at start; a clone whose wake
// brought its config needs none.
const fwCfgModule = "qemu_fw_cfg"

// isTemplate says whether the host boots this guest to be saved as a
// template (guestconfig.TemplateArg on the kernel command line).
func isTemplate() bool {
	b, err := os.ReadFile("/proc/cmdline")
	return err == nil && strings.Contains(" "+strings.TrimSpace(string(b))+" ", " "+guestconfig.TemplateArg+" ")
}

// awaitClone waits, in a template, for the host to save it and wake a
// clone; the clone then takes the host's time and fresh entropy before it
// reads anything of its own. A guest booted for itself goes straight on.
func awaitClone(ctx context.Context, in *Init) error {
	if !isTemplate() {
		return nil
	}
	dev, err := agent.FindPort("/sys", agent.PortName)
	if err != nil {
		return fmt.Errorf("%w (is virtio_console loaded?)", err)
	}
	if err := zeroFreeMemory(); err != nil {
		return err
	}
	fmt.Fprintln(in.Console, "vmfleet-init: booted as a template; waiting to be saved")
	port := func() (io.ReadWriteCloser, error) { return os.OpenFile(dev, os.O_RDWR, 0) }
	w, err := agent.AwaitWake(ctx, port)
	if err != nil {
		return err
	}
	fmt.Fprintf(in.Console, "vmfleet-init: restored from a template; the host's clock is %s\n", w.Time.UTC().Format(time.RFC3339Nano))
	if err := takeWake(in, w); err != nil {
		return err
	}
	if !w.Stage {
		return nil
	}
	if in.Config == nil {
		return fmt.Errorf("a spare's wake brought no config to stage with")
	}
	// A spare: its disk and network are its own already; its identity
	// comes with the next wake.
	took, err := runSteps(ctx, in, staged)
	if err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	in.staged = true
	fmt.Fprintf(in.Console, "vmfleet-init: staged as a spare in %s; waiting to be taken\n", took)
	if w, err = agent.AwaitWake(ctx, port); err != nil {
		return err
	}
	fmt.Fprintf(in.Console, "vmfleet-init: taken; the host's clock is %s\n", w.Time.UTC().Format(time.RFC3339Nano))
	return takeWake(in, w)
}

// takeWake sets the clock, reseeds and takes the config a wake brings.
func takeWake(in *Init, w agent.Wake) error {
	if err := setClock(w.Time); err != nil {
		return err
	}
	if err := reseed(w.Seed); err != nil {
		return err
	}
	if len(w.Config) > 0 {
		c, err := guestconfig.Decode(w.Config)
		if err != nil {
			return fmt.Errorf("the config in the wake: %w", err)
		}
		in.Config = c
	}
	return nil
}

// setClock sets the wall clock.
func setClock(t time.Time) error {
	ts := unix.NsecToTimespec(t.UnixNano())
	if err := unix.ClockSettime(unix.CLOCK_REALTIME, &ts); err != nil {
		return fmt.Errorf("set the clock: %w", err)
	}
	return nil
}

// reseed credits the host's bytes to the kernel's pool and reseeds its
// generator, so clones of one template draw different numbers.
func reseed(seed []byte) error {
	if len(seed) == 0 {
		return fmt.Errorf("the host sent no entropy")
	}
	f, err := os.OpenFile("/dev/urandom", os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("reseed: %w", err)
	}
	defer f.Close()
	// struct rand_pool_info: entropy_count (bits), buf_size (bytes), buf.
	info := make([]byte, 8+len(seed))
	binary.NativeEndian.PutUint32(info[0:], uint32(8*len(seed)))
	binary.NativeEndian.PutUint32(info[4:], uint32(len(seed)))
	copy(info[8:], seed)
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.RNDADDENTROPY, uintptr(unsafe.Pointer(&info[0]))); e != 0 {
		return fmt.Errorf("reseed: add entropy: %w", e)
	}
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.RNDRESEEDCRNG, 0); e != 0 {
		return fmt.Errorf("reseed: %w", e)
	}
	return nil
}

// zeroFreeMemory drops the page cache and zeroes the free pages (the
// kernel zeroes anonymous pages it hands out): QEMU saves a zero page as
// a flag, so the snapshot is small and fast to restore, and a clone's
// QEMU never touches the pages, so they cost its host nothing.
func zeroFreeMemory() error {
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0); err != nil {
		return fmt.Errorf("drop caches: %w", err)
	}
	free, err := memFree()
	if err != nil {
		return err
	}
	const margin = 8 << 20 // left to the kernel, so nothing is reclaimed or killed
	if free <= margin {
		return nil
	}
	b, err := unix.Mmap(-1, 0, int(free-margin), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("zero free memory: %w", err)
	}
	return unix.Munmap(b)
}

// memFree is MemFree from /proc/meminfo, in bytes.
func memFree() (int64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		var kb int64
		if n, _ := fmt.Sscanf(line, "MemFree: %d kB", &kb); n == 1 {
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no MemFree in /proc/meminfo")
}
