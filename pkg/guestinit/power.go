package guestinit

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/vmfleet/vmfleet/pkg/guestlayout"
)

// Linux input event constants (linux/input-event-codes.h).
const (
	evKey    = 0x01
	keyPower = 116
)

// watchStopRequests sends a reason on stop for each request to shut down:
// SIGTERM, SIGINT (the kernel's Ctrl-Alt-Del once CAD is off) and the ACPI
// power button, which the button driver reports as KEY_POWER on an input
// device.
func watchStopRequests(ctx context.Context, stop chan<- string) {
	// Ctrl-Alt-Del: ask the kernel for SIGINT instead of an instant reboot.
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_CAD_OFF)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case s := <-sigs:
				stop <- "received " + s.String()
			}
		}
	}()
	devices, _ := filepath.Glob("/dev/input/event*")
	for _, dev := range devices {
		go watchPowerButton(dev, stop)
	}
}

// watchPowerButton reads input events until it sees the power key pressed.
func watchPowerButton(dev string, stop chan<- string) {
	f, err := os.Open(dev)
	if err != nil {
		return
	}
	defer f.Close()
	// struct input_event on 64-bit: timeval (16 bytes), type, code, value.
	buf := make([]byte, 24)
	for {
		if _, err := io.ReadFull(f, buf); err != nil {
			return
		}
		typ := binary.LittleEndian.Uint16(buf[16:])
		code := binary.LittleEndian.Uint16(buf[18:])
		value := int32(binary.LittleEndian.Uint32(buf[20:]))
		if typ == evKey && code == keyPower && value == 1 {
			stop <- "power button pressed"
		}
	}
}

// PowerOff syncs and turns the machine off; it does not return on success.
func PowerOff(console io.Writer, status int) {
	fmt.Fprintf(console, "vmfleet-init: service exited with status %d; powering off\n", status)
	unix.Sync()
	for _, m := range []string{"/tmp", "/run", "/dev/shm", "/dev/pts", "/dev", "/sys", "/proc", ""} {
		_ = unix.Unmount(filepath.Join(guestlayout.NewRoot, m), unix.MNT_DETACH)
	}
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Fprintf(console, "vmfleet-init: power off: %v\n", err)
	}
	select {}
}
