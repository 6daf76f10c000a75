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
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/vmfleet/vmfleet/pkg/guestinit"
	"github.com/vmfleet/vmfleet/pkg/guestlayout"
)

func main() {
	if os.Getpid() == 1 && os.Args[0] == guestlayout.Init {
		guestinit.Main() // does not return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newApp().RunContext(ctx, interspersed(newApp(), os.Args)); err != nil {
		fmt.Fprintln(os.Stderr, "vmfleet: "+oneLine(err))
		var ec cli.ExitCoder
		if errors.As(err, &ec) && ec.ExitCode() != 0 {
			os.Exit(ec.ExitCode())
		}
		os.Exit(1)
	}
}
