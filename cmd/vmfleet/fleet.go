package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/client"
	"github.com/vmfleet/vmfleet/pkg/fleetfile"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

func fileFlag() cli.Flag {
	return &cli.StringFlag{Name: "file", Aliases: []string{"f"}, Value: "fleet.yaml", Usage: "the fleet file"}
}

func bakeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "kernel-version", EnvVars: []string{"VMFLEET_KERNEL_VERSION"}, Usage: "guest kernel version"},
		&cli.StringFlag{Name: "init", EnvVars: []string{"VMFLEET_INIT"}, Usage: "path of vmfleet-init"},
	}
}

func graceFlag() cli.Flag {
	return &cli.DurationFlag{Name: "timeout", Aliases: []string{"t"}, Value: limits.DefaultStopTimeout, Usage: "grace period for each guest to shut down"}
}

func upCommand() *cli.Command {
	return &cli.Command{
		Name:  "up",
		Usage: "apply the fleet file: show what changes, make it so, wait until in service",
		Flags: append([]cli.Flag{
			fileFlag(),
			&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once in service and leave the fleet running"},
			&cli.DurationFlag{Name: "wait-timeout", Value: 5 * time.Minute, Usage: "how long to wait for every instance to be in service"},
			graceFlag(),
			&cli.Float64Flag{Name: "boot-cpus", Usage: "CPU caps of instances booting at once, summed (default: the number of CPUs)"},
			timeScaleFlag(),
		}, bakeFlags()...),
		Action: up,
	}
}

func applyRequest(c *cli.Context, dryRun bool) (api.ApplyRequest, error) {
	req, err := client.ReadFleet(c.String("file"))
	if err != nil {
		return api.ApplyRequest{}, bad(err)
	}
	req.DryRun, req.BootCPUs, req.TimeScale = dryRun, c.Float64("boot-cpus"), c.Float64("time-scale")
	req.KernelVersion, req.Init = c.String("kernel-version"), c.String("init")
	return req, nil
}

// up applies the file and waits. In the foreground it then follows the
// fleet's events, and Ctrl-C drains and removes the fleet, as `docker
// compose up` stops what it started.
func up(c *cli.Context) error {
	req, err := applyRequest(c, false)
	if err != nil {
		return err
	}
	cl, _, err := ensureDaemon(c)
	if err != nil {
		return err
	}
	// The daemon's work outlives Ctrl-C: it is the daemon's, and a
	// foreground up answers Ctrl-C with a down.
	ctx := context.WithoutCancel(c.Context)
	since := time.Now()
	res, err := cl.Apply(ctx, req)
	if err != nil {
		return err
	}
	printChanges(res)
	isNew := slices.ContainsFunc(res.Changes, func(ch api.Change) bool { return ch.Action == api.Create && ch.Resource == api.ResourceFleet })
	evCtx, stopEvents := context.WithCancel(ctx)
	defer stopEvents()
	go cl.Events(evCtx, client.EventQuery{Fleet: res.Fleet, Since: since, Follow: true}, func(ev api.Event) { fmt.Println(ev) })

	waitCtx, stopWait := context.WithCancel(ctx)
	defer stopWait()
	go func() {
		select {
		case <-c.Context.Done():
			stopWait()
		case <-waitCtx.Done():
		}
	}()
	f, err := cl.Wait(waitCtx, res.Fleet, c.Duration("wait-timeout"))
	if err != nil {
		if c.Context.Err() != nil { // Ctrl-C while waiting
			stopEvents()
			return down(ctx, cl, res.Fleet, c.Duration("timeout"))
		}
		if _, ferr := cl.Fleet(ctx, res.Fleet); api.BadInput(ferr) {
			// Another shell's down removed it while this up waited (its
			// bake done before the down came): nothing is left to tear down.
			return api.Conflict(fmt.Errorf("the fleet %s was taken down while up waited for it", res.Fleet))
		}
		printTails(ctx, cl, f)
		if isNew {
			if derr := cl.Down(ctx, res.Fleet, 0); derr != nil {
				fmt.Fprintln(os.Stderr, "vmfleet: tearing the fleet down: "+oneLine(derr))
			}
		}
		return err
	}
	stopEvents()
	printUp(f)
	if c.Bool("detach") {
		return nil
	}
	fmt.Println("following the fleet's events; Ctrl-C drains and removes it")
	go cl.Events(ctx, client.EventQuery{Fleet: res.Fleet, Since: time.Now(), Follow: true}, func(ev api.Event) { fmt.Println(ev) })
	for {
		select {
		case <-c.Context.Done():
			return down(ctx, cl, res.Fleet, c.Duration("timeout"))
		case <-time.After(time.Second):
			// A down from another shell ends this up.
			if _, err := cl.Fleet(ctx, res.Fleet); api.BadInput(err) {
				fmt.Printf("fleet %s was taken down\n", res.Fleet)
				return nil
			}
		}
	}
}

func printChanges(res api.ApplyResult) {
	if len(res.Changes) == 0 {
		fmt.Printf("fleet %s: nothing to change\n", res.Fleet)
		return
	}
	for _, ch := range res.Changes {
		fmt.Println(ch)
	}
}

func down(ctx context.Context, cl *client.Client, fleet string, grace time.Duration) error {
	fmt.Printf("draining fleet %s\n", fleet)
	if err := cl.Down(ctx, fleet, grace); err != nil {
		if ctx.Err() != nil { // Ctrl-C: the daemon finishes what it began
			return fmt.Errorf("down %s: interrupted; the daemon goes on taking it down (vmfleet ls shows it until it is gone)", fleet)
		}
		return fmt.Errorf("down %s: %w", fleet, err)
	}
	fmt.Printf("fleet %s is down\n", fleet)
	return nil
}

// printTails shows the last console lines of every instance not in service.
func printTails(ctx context.Context, cl *client.Client, f api.Fleet) {
	for _, s := range f.Services {
		for _, i := range s.Instances {
			if i.Phase == api.InService || i.Domain == "" {
				continue
			}
			fmt.Fprintf(os.Stderr, "--- console of %s/%s (%s, health %s):\n", s.Name, i.ID, i.Phase, i.Health)
			if err := cl.Logs(ctx, client.LogsQuery{Ref: i.ID, Tail: 20}, os.Stderr); err != nil {
				fmt.Fprintf(os.Stderr, "(%s)\n", oneLine(err))
			}
		}
	}
}

func timeScaleFlag() cli.Flag {
	return &cli.Float64Flag{Name: "time-scale", Usage: "multiply every AWS period of the file by this (default: the file's time_scale, else 0.05; 1 is AWS's own time)"}
}

func printUp(f api.Fleet) {
	fmt.Printf("fleet %s is up (time scale %g: AWS periods x %g):\n", f.Name, f.TimeScale, f.TimeScale)
	for _, s := range f.Services {
		fmt.Printf("  %-16s %d/%d in service behind %s\n", s.Name, s.Current(), s.Desired, s.Listen)
	}
}

func diffCommand() *cli.Command {
	return &cli.Command{
		Name:  "diff",
		Usage: "show what up would change, without changing it",
		Flags: append([]cli.Flag{fileFlag(), timeScaleFlag()}, bakeFlags()...),
		Action: func(c *cli.Context) error {
			req, err := applyRequest(c, true)
			if err != nil {
				return err
			}
			cl, _, err := ensureDaemon(c)
			if err != nil {
				return err
			}
			res, err := cl.Apply(c.Context, req)
			if err != nil {
				return err
			}
			printChanges(res)
			return nil
		},
	}
}

// fleetName is --fleet, else the name in the fleet file.
func fleetName(c *cli.Context) (string, error) {
	if n := c.String("fleet"); n != "" {
		return n, nil
	}
	f, err := fleetfile.Load(c.String("file"))
	if err != nil {
		return "", bad(err)
	}
	return f.Name, nil
}

// fleetClient is the fleet the command names and a client of the daemon,
// started if it must be.
func fleetClient(c *cli.Context) (string, *client.Client, error) {
	name, err := fleetName(c)
	if err != nil {
		return "", nil, err
	}
	cl, _, err := ensureDaemon(c)
	return name, cl, err
}

func fleetFlags() []cli.Flag {
	return []cli.Flag{fileFlag(), &cli.StringFlag{Name: "fleet", Aliases: []string{"p"}, Usage: "the fleet's name (default: the one in the fleet file)"}}
}

func downCommand() *cli.Command {
	return &cli.Command{
		Name:  "down",
		Usage: "drain, stop and remove every instance of the fleet; nothing is left behind",
		Flags: append(fleetFlags(), graceFlag()),
		Action: func(c *cli.Context) error {
			name, cl, err := fleetClient(c)
			if err != nil {
				return err
			}
			return down(c.Context, cl, name, c.Duration("timeout"))
		},
	}
}

func scaleCommand() *cli.Command {
	return &cli.Command{
		Name:      "scale",
		Usage:     "change the desired count of a running fleet's services, all or nothing",
		ArgsUsage: "SERVICE=N [SERVICE=N ...]",
		Flags: append(fleetFlags(),
			&cli.BoolFlag{Name: "wait", Usage: "wait until the new counts are in service"},
			&cli.DurationFlag{Name: "wait-timeout", Value: 5 * time.Minute, Usage: "with --wait, how long to wait"}),
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return bad(errors.New("scale: give SERVICE=N, e.g. vmfleet scale web=3"))
			}
			counts := map[string]int{}
			for _, a := range c.Args().Slice() {
				svc, n, ok := strings.Cut(a, "=")
				v, err := strconv.Atoi(n)
				if !ok || err != nil || v < 0 || svc == "" {
					return bad(fmt.Errorf("scale %q: write SERVICE=N with N a whole number >= 0, e.g. web=3", a))
				}
				counts[svc] = v
			}
			name, cl, err := fleetClient(c)
			if err != nil {
				return err
			}
			if _, err := cl.Scale(c.Context, name, counts); err != nil {
				return err
			}
			names := make([]string, 0, len(counts))
			for s := range counts {
				names = append(names, s)
			}
			sort.Strings(names)
			for _, s := range names {
				fmt.Printf("%s: desired %d\n", s, counts[s])
			}
			if c.Bool("wait") {
				_, err := cl.Wait(c.Context, name, c.Duration("wait-timeout"))
				return err
			}
			return nil
		},
	}
}
