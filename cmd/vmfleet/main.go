// Command vmfleet runs services as fleets of real VMs on one machine: each
// service baked into its own image, each instance its own libvirt domain,
// a load balancer in front, a controller keeping the count.
//
// It is also the guests' init: run by the kernel as PID 1 from the
// initramfs (the bake put it there as /init), it is pkg/guestinit and
// nothing of the CLI. Being PID 1 alone is not enough: a container runs its
// entrypoint as PID 1 too, and there vmfleet is the CLI.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/guestexec"
	"github.com/vmfleet/vmfleet/pkg/guestinit"
	"github.com/vmfleet/vmfleet/pkg/guestlayout"
)

func main() {
	if guestinit.Warming(os.Args) {
		return // a spare's init (this binary) warming its exec path
	}
	if os.Getpid() == 1 && os.Args[0] == guestlayout.Init {
		guestinit.Main() // does not return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newApp().RunContext(ctx, interspersed(newApp(), os.Args)); err != nil {
		if msg := oneLine(err); msg != "" { // "": an exit status alone (exec passes the command's on)
			fmt.Fprintln(os.Stderr, "vmfleet: "+msg)
		}
		os.Exit(exitCode(err))
	}
}

// bad marks err as the caller's mistake (exit status 2), as the daemon
// marks what it refuses.
func bad(err error) error { return api.Invalid(err) }

// exitStatus is a status a command passes on as it is (exec: the guest
// command's); it prints nothing.
type exitStatus int

func (s exitStatus) Error() string { return "" }

// exitCode is the one place an error becomes an exit status: 0 for none, 2
// for the caller's mistake (a bad flag, an unknown command, input the daemon
// refused: api.Classify decides, so a full disk is never one), 1 for any
// failure. urfave/cli's own cli.Exit (a help topic it does not know) is
// the caller's mistake too.
func exitCode(err error) int {
	var st exitStatus
	var se *guestexec.StartError
	var ec cli.ExitCoder
	switch {
	case err == nil:
		return 0
	case errors.As(err, &st):
		return int(st)
	case errors.As(err, &se): // exec: the guest could not start it, as a shell says (126, 127)
		return se.Status
	case api.BadInput(err), errors.As(err, &ec):
		return 2
	}
	return 1
}

// version is the module version this binary was built from.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return bi.Main.Version + "+" + s.Value[:12]
			}
		}
		return bi.Main.Version
	}
	return "unknown"
}
