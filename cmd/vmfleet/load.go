package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/vmfleet/vmfleet/pkg/limits"
	traffic "github.com/vmfleet/vmfleet/pkg/load"
)

func loadCommand() *cli.Command {
	return &cli.Command{
		Name:      "load",
		Usage:     "send bounded HTTP (or TCP) load to a service's balancer on loopback, and report what it saw",
		ArgsUsage: "SERVICE",
		Flags: append(fleetFlags(),
			&cli.StringFlag{Name: "rate", Value: "10/s", Usage: "requests (or connections) per second, N/s"},
			&cli.DurationFlag{Name: "for", Value: limits.DefaultLoadDuration, Usage: "how long"},
			&cli.IntFlag{Name: "concurrency", Aliases: []string{"c"}, Value: limits.DefaultLoadConcurrency, Usage: "at most this many in flight"},
			&cli.BoolFlag{Name: "tcp", Usage: "open and close TCP connections instead of HTTP GETs"},
			&cli.StringFlag{Name: "path", Value: "/", Usage: "the HTTP path to GET"},
			&cli.BoolFlag{Name: "json", Usage: "print the final report as JSON, and no progress"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return bad(fmt.Errorf("load: give one SERVICE, e.g. vmfleet load web --rate 200/s --for 2m"))
			}
			o, err := loadOptions(c)
			if err != nil {
				return bad(err)
			}
			name, cl, err := fleetClient(c)
			if err != nil {
				return err
			}
			f, err := cl.Fleet(c.Context, name)
			if err != nil {
				return err
			}
			svc := c.Args().First()
			var names []string
			for _, s := range f.Services {
				names = append(names, s.Name)
				if s.Name == svc {
					o.Addr = s.Listen
				}
			}
			if o.Addr == "" {
				return bad(fmt.Errorf("load: fleet %s has no service %s with a balancer listening; its services: %s", name, svc, strings.Join(names, ", ")))
			}
			o.Addr = traffic.Loopback(o.Addr)
			every, progress := time.Second, func(r traffic.Report) { fmt.Fprintf(os.Stderr, "%s: %s\n", svc, r) }
			if c.Bool("json") {
				every = 0
			}
			rep, err := traffic.Run(c.Context, o, every, progress)
			if err != nil {
				return bad(err)
			}
			if c.Bool("json") {
				return printJSON(rep)
			}
			fmt.Printf("%s via %s: %s\n", svc, o.Addr, rep)
			return nil
		},
	}
}

// loadOptions reads and checks the flags, before anything is asked of
// the daemon.
func loadOptions(c *cli.Context) (traffic.Options, error) {
	n, ok := strings.CutSuffix(c.String("rate"), "/s")
	r, err := strconv.ParseFloat(n, 64)
	if !ok || err != nil {
		return traffic.Options{}, fmt.Errorf("load: --rate %q: write N/s, e.g. 200/s", c.String("rate"))
	}
	o := traffic.Options{Addr: "127.0.0.1:1", Rate: r, For: c.Duration("for"), Concurrency: c.Int("concurrency"), Path: c.String("path")}
	if c.Bool("tcp") {
		o.Mode = traffic.TCP
	}
	if err := o.Check(); err != nil {
		return traffic.Options{}, err
	}
	o.Addr = ""
	return o, nil
}
