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
	"github.com/vmfleet/vmfleet/pkg/guestinit"
	"github.com/vmfleet/vmfleet/pkg/guestlayout"
)

func main() {
	if guestinit.Warming(os.Args) {
		return // a standby's init (this binary) warming its exec path
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

// usage marks the caller's mistake: exit status 2, like a bad flag.
type usage struct{ error }

func (u usage) Unwrap() error { return u.error }

// bad marks err as bad input.
func bad(err error) error { return usage{err} }

// exitCode is 2 for bad input (ours or the daemon's verdict), else 1.
func exitCode(err error) int {
	var u usage
	var ec cli.ExitCoder
	switch {
	case errors.As(err, &u), api.BadInput(err):
		return 2
	case errors.As(err, &ec) && ec.ExitCode() != 0:
		return ec.ExitCode()
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
