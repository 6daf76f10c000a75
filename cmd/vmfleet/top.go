package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/topview"
)

// topTimeout bounds one request for metrics, so that a daemon that hangs
// shows as an error and the next second is asked for.
const topTimeout = 2 * time.Second

func topCommand() *cli.Command {
	return &cli.Command{
		Name:      "top",
		Usage:     "a live view of the fleets: counts, health, CPU, memory, network and connections of every instance",
		ArgsUsage: "[SERVICE | FLEET/SERVICE]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "once", Usage: "print one sample as lines and exit"},
			&cli.DurationFlag{Name: "interval", Value: time.Second, Usage: "how often to sample"},
		},
		Action: runTop,
	}
}

func runTop(c *cli.Context) error {
	if c.NArg() > 1 {
		return bad(errors.New("top: name at most one service, e.g. vmfleet top web or vmfleet top shop/web"))
	}
	every := c.Duration("interval")
	if every <= 0 {
		return bad(fmt.Errorf("top: --interval %s: use a positive duration, e.g. 1s", every))
	}
	cl, _, err := ensureDaemon(c)
	if err != nil {
		return err
	}
	cfg := topview.Config{
		Service:  c.Args().First(),
		Interval: every,
		Fetch: func(ctx context.Context) (api.Metrics, error) {
			ctx, cancel := context.WithTimeout(ctx, max(every, topTimeout))
			defer cancel()
			return cl.Metrics(ctx)
		},
	}
	switch {
	case c.Bool("once"):
		return topOnce(c.Context, os.Stdout, cfg)
	case term.IsTerminal(int(os.Stdout.Fd())):
		return topview.Run(c.Context, cfg)
	default:
		return topview.Follow(c.Context, os.Stdout, os.Stderr, cfg)
	}
}

// topOnce prints one sample; a service that is not there is a bad name.
func topOnce(ctx context.Context, w io.Writer, cfg topview.Config) error {
	m, err := cfg.Fetch(ctx)
	if err != nil {
		return fmt.Errorf("top: %w", err)
	}
	m = topview.Filter(m, cfg.Service)
	if cfg.Service != "" && len(m.Services) == 0 {
		return bad(fmt.Errorf("top: no service %q; vmfleet ls lists the fleets and their services", cfg.Service))
	}
	for _, l := range topview.Lines(m) {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return fmt.Errorf("top: print the sample: %w", err)
		}
	}
	return nil
}
