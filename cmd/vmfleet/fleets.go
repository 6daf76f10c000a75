package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/docker/go-units"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/client"
)

func lsCommand() *cli.Command {
	return &cli.Command{
		Name:  "ls",
		Usage: "list fleets: services, desired and in service, warm pool, balancer address",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print a JSON array"}},
		Action: func(c *cli.Context) error {
			cl, _, err := ensureDaemon(c)
			if err != nil {
				return err
			}
			list, err := cl.Fleets(c.Context)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(list)
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "FLEET\tSERVICE\tIN SERVICE\tWARM\tLISTEN\tFILE")
			for _, f := range list {
				for _, s := range f.Services {
					warm := "-"
					if s.PoolSize > 0 || s.Warm > 0 {
						warm = fmt.Sprintf("%d/%d", s.Warm, s.PoolSize)
					}
					fmt.Fprintf(w, "%s\t%s\t%d/%d\t%s\t%s\t%s\n", f.Name, s.Name, s.InService, s.Desired, warm, s.Listen, f.File)
				}
			}
			return w.Flush()
		},
	}
}

func eventsCommand() *cli.Command {
	return &cli.Command{
		Name:      "events",
		Usage:     "the activity history: launched, in service, unhealthy, replaced, drained, and why",
		ArgsUsage: "[SERVICE]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "fleet", Aliases: []string{"p"}, Usage: "only this fleet's events"},
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing new events"},
			&cli.BoolFlag{Name: "json", Usage: "one JSON object a line"},
		},
		Action: func(c *cli.Context) error {
			cl, _, err := ensureDaemon(c)
			if err != nil {
				return err
			}
			q := client.EventQuery{Fleet: c.String("fleet"), Service: c.Args().First(), Follow: c.Bool("follow")}
			enc := json.NewEncoder(os.Stdout)
			return cl.Events(c.Context, q, func(ev api.Event) {
				if c.Bool("json") {
					_ = enc.Encode(ev) // one object a line, as the API streams them
					return
				}
				fmt.Println(ev)
			})
		},
	}
}

func infoCommand() *cli.Command {
	return &cli.Command{
		Name:  "info",
		Usage: "the daemon: version, API address, accelerator and why, home, libvirt URI",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
		Action: func(c *cli.Context) error {
			in, err := daemonInfo(c)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(in)
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			for _, kv := range [][2]string{
				{"version", in.Version}, {"api", in.API + " on unix://" + in.Socket + tcpSuffix(in)},
				{"daemon pid", fmt.Sprintf("%d (supervisor %d)", in.PID, in.Supervisor)},
				{"home", in.Home}, {"libvirt", in.LibvirtURI + " (" + in.Libvirt + ")"},
				{"accelerator", strings.ToUpper(in.Accel) + ": " + in.AccelReason}, {"fleets", fmt.Sprint(in.Fleets)},
				{"launch", launchLine(in.Launch)},
				{"metrics", in.MetricsURL}, {"aws", awsLine(in.AWS)}, {"dashboard", dashboardLine(in.Dashboard)}, {"time scale", fmt.Sprintf("%g by default (AWS periods x %g; time_scale: 1 in a fleet file is AWS's own time)", in.DefaultTimeScale, in.DefaultTimeScale)},
			} {
				fmt.Fprintf(w, "%s:\t%s\n", kv[0], kv[1])
			}
			return w.Flush()
		},
	}
}

// daemonInfo is what the home's daemon says of itself, starting one when
// none runs.
func daemonInfo(c *cli.Context) (api.Info, error) {
	cl, _, err := ensureDaemon(c)
	if err != nil {
		return api.Info{}, err
	}
	return cl.Info(c.Context)
}

// launchLine says how instances start, and from which snapshots.
func launchLine(l api.Launch) string {
	if l.Mode != api.LaunchSnapshot {
		return "cold boot: " + l.Reason
	}
	s := fmt.Sprintf("restored from a snapshot of their machine (%d saved", len(l.Snapshots))
	for _, t := range l.Snapshots {
		s += fmt.Sprintf("; %s: %d vCPU %d MiB, %s", t.Key, t.VCPUs, t.MemoryMiB, units.BytesSize(float64(t.StateBytes)))
	}
	s += "); vmfleet daemon --cold-boot boots them instead"
	ready := 0
	for _, sb := range l.Spares {
		if sb.Instance != "" {
			ready++
		}
	}
	return s + fmt.Sprintf("; %d spare instances ready for run (vmfleet daemon --spares)", ready)
}

func tcpSuffix(in api.Info) string {
	if in.TCP == "" {
		return ""
	}
	return " and http://" + in.TCP
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print vmfleet's version",
		Action: func(c *cli.Context) error {
			fmt.Println("vmfleet " + version())
			return nil
		},
	}
}

func protectCommand() *cli.Command {
	return &cli.Command{
		Name:      "protect",
		Usage:     "protect instances of a group from scale-in (SetInstanceProtection); --off lifts it",
		ArgsUsage: "INSTANCE...",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "off", Usage: "lift the protection"}},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return bad(errors.New("protect: name the instances, e.g. vmfleet protect i-0123456789ab (see vmfleet ps)"))
			}
			cl, _, err := ensureDaemon(c)
			if err != nil {
				return err
			}
			for _, ref := range c.Args().Slice() {
				if err := cl.Protect(c.Context, ref, !c.Bool("off")); err != nil {
					return err
				}
				state := "protected from scale-in"
				if c.Bool("off") {
					state = "no longer protected"
				}
				fmt.Printf("%s: %s\n", ref, state)
			}
			return nil
		},
	}
}
