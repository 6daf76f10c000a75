// Command vmfleet-init is PID 1 in a vmfleet guest, the small alternative to
// vmfleet itself (which is its own init): a bake puts it in the image's
// initramfs as /init when it lies beside vmfleet. It is not meant to run on
// a host.
package main

import (
	"fmt"
	"os"

	"github.com/vmfleet/vmfleet/pkg/guestinit"
)

func main() {
	if guestinit.Warming(os.Args) {
		return // a spare's init warming its exec path
	}
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "vmfleet-init runs as PID 1 inside a vmfleet guest; vmfleet bake puts it there")
		os.Exit(2)
	}
	guestinit.Main()
}
