package guestinit

import (
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"time"
)

// A spare is staged in the QEMU that will run it, and under TCG every
// code path costs its translation the first time a QEMU runs it: a
// service started right after the take paid for the guest kernel's exec,
// page-fault, thread and socket paths, and init for its own. So a spare
// runs them once while staged, with nothing of its own at stake. Measured
// by hand (9 takes of each build, alternating): run to first answer 0.49 s
// to 0.36 s median, the instance's QEMU busy 0.46 s to 0.27 s of it.

// WarmArg, as an init binary's only argument, makes it exit at once: the
// exec warm makes. Its mains check it (Warming) before anything else.
const WarmArg = "--vmfleet-init-warm"

// Warming says whether args are those of warm's exec.
func Warming(args []string) bool { return len(args) == 2 && args[1] == WarmArg }

// selfExe is the binary warm execs: init's own, the one binary an
// initramfs is sure to hold.
const selfExe = "/proc/self/exe"

// warm is the staged step: an exec (the service's start), a TCP exchange
// on lo (its listener and first answer, and the metadata server's) and
// the identity files (written again, warm, once taken). The first two are
// a head start only: what fails there is said on the console and costs
// the service nothing.
func warm(ctx context.Context, in *Init) error {
	if err := warmExec(ctx, selfExe); err != nil {
		fmt.Fprintf(in.Console, "vmfleet-init: warm: exec %s: %v\n", selfExe, err)
	}
	if err := warmTCP(ctx); err != nil {
		fmt.Fprintf(in.Console, "vmfleet-init: warm: tcp on lo: %v\n", err)
	}
	return setIdentity(ctx, in)
}

// warmExec runs path with WarmArg and waits for it.
func warmExec(ctx context.Context, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, path, WarmArg).Run()
}

// warmTCP sends a request-sized message to a listener on lo and reads it
// back.
func warmTCP(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	msg := []byte("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
	if _, err := c.Write(msg); err != nil {
		return err
	}
	_, err = io.ReadFull(c, make([]byte, len(msg)))
	return err
}
