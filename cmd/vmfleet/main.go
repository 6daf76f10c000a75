// Command vmfleet runs services as fleets of real VMs on one machine: each
// service baked into its own image, each instance its own libvirt domain,
// a load balancer in front, a controller keeping the count.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
)

func main() {
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
