// Command vmfleet-init is PID 1 in every vmfleet guest. The bake puts it in
// the image's initramfs as /init; it is not meant to run on a host.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/vmfleet/vmfleet/pkg/guestinit"
)

func main() {
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "vmfleet-init runs as PID 1 inside a vmfleet guest; vmfleet bake puts it there")
		os.Exit(2)
	}
	console := os.Stdout
	status := 1
	func() {
		// A panic in PID 1 would panic the kernel; power off cleanly instead
		// so the host sees the instance stop.
		defer func() {
			if r := recover(); r != nil {
				fmt.Fprintf(console, "vmfleet-init: panic: %v\n", r)
			}
		}()
		status = guestinit.Run(context.Background(), console)
	}()
	guestinit.PowerOff(console, status)
}
