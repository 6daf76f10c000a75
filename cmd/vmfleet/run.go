package main

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/urfave/cli/v2"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/envfile"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "boot one instance of an image as a libvirt domain",
		ArgsUsage: "IMAGE",
		Flags: []cli.Flag{
			&cli.Float64Flag{Name: "cpu", Value: limits.DefaultCPU, Usage: "cores the instance may use (a cgroup quota; 0.5 is half a core)"},
			&cli.StringFlag{Name: "memory", Value: limits.FormatSize(limits.DefaultMemory), Usage: "guest RAM; QEMU's own overhead is added to the cgroup hard limit"},
			&cli.IntFlag{Name: "host-port", Usage: "127.0.0.1 port forwarded to the service port (0: a free one)"},
			&cli.StringSliceFlag{Name: "env", Usage: "KEY=VALUE added to the image's env (repeatable)"},
			&cli.StringSliceFlag{Name: "env-file", Usage: "read KEY=VALUE lines from FILE into the env, as docker run does (repeatable; later files and --env override)"},
			&cli.StringFlag{Name: "service", Usage: "service name (default: the image name)"},
			&cli.IntSliceFlag{Name: "egress-host-port", Usage: "a host port (on 127.0.0.1) the guest may reach at 10.0.2.2 (repeatable); nothing else on the host is reachable"},
			&cli.BoolFlag{Name: "internet", Usage: "let the guest reach the outside network (default off)"},
			&cli.BoolFlag{Name: "cold-boot", Usage: "boot the kernel instead of restoring the instance from a snapshot of its machine"},
			&cli.BoolFlag{Name: "json", Usage: "print the instance as JSON"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return bad(fmt.Errorf("run: name one image, e.g. vmfleet run hello"))
			}
			mem, err := parseSize(c.String("memory"))
			if err != nil {
				return bad(err)
			}
			// The files are read here, not by the daemon: they are the
			// user's, and a bare KEY in them means this shell's $KEY.
			fromFiles, err := envfile.Load(c.StringSlice("env-file"), os.LookupEnv)
			if err != nil {
				return bad(err)
			}
			// Later entries win in the guest, so --env overrides the files.
			env := append(envfile.Pairs(fromFiles), c.StringSlice("env")...)
			cl, _, err := ensureDaemon(c)
			if err != nil {
				return err
			}
			inst, err := cl.Run(c.Context, api.RunRequest{
				Image: c.Args().First(), Service: c.String("service"), CPU: c.Float64("cpu"), MemoryBytes: mem,
				HostPort: c.Int("host-port"), Env: env,
				EgressHostPorts: c.IntSlice("egress-host-port"), Internet: c.Bool("internet"), ColdBoot: c.Bool("cold-boot"),
			})
			if err != nil {
				return err
			}
			if in, err := cl.Info(c.Context); err == nil && in.Accel == string(hypervisor.TCG) {
				fmt.Fprintln(os.Stderr, "vmfleet: note: "+in.AccelReason)
			}
			if c.Bool("json") {
				return printJSON(inst)
			}
			fmt.Printf("%s\t%s\t%s\tconsole %s\n", inst.ID, inst.Domain, inst.Address, inst.Console)
			return nil
		},
	}
}

// parseSize reads sizes like 256MiB, 1GiB or 512M (binary units).
func parseSize(s string) (int64, error) {
	n, err := units.RAMInBytes(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("--memory %q is not a size; write it like 256MiB", s)
	}
	return n, nil
}

func psCommand() *cli.Command {
	return &cli.Command{
		Name:  "ps",
		Usage: "list instances: service, id, state, health, address",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print a JSON array"},
			&cli.StringFlag{Name: "fleet", Aliases: []string{"p"}, Usage: "only this fleet's instances"},
		},
		Action: func(c *cli.Context) error {
			cl, _, err := ensureDaemon(c)
			if err != nil {
				return err
			}
			all, err := cl.Instances(c.Context)
			if err != nil {
				return err
			}
			rows := []api.InstanceRow{}
			for _, r := range all {
				if f := c.String("fleet"); f == "" || r.Fleet == f {
					rows = append(rows, r)
				}
			}
			sort.SliceStable(rows, func(i, j int) bool {
				if rows[i].Fleet != rows[j].Fleet {
					return rows[i].Fleet < rows[j].Fleet
				}
				return rows[i].Service < rows[j].Service
			})
			if c.Bool("json") {
				return printJSON(rows)
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "FLEET\tSERVICE\tID\tSTATE\tPHASE\tHEALTH\tADDRESS\tIMAGE\tCREATED\tDOMAIN")
			for _, r := range rows {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s ago\t%s\n", dash(r.Fleet), r.Service, r.ID, r.State,
					dash(r.Phase), r.Health, r.Address, r.Image, humanSince(r.Created), r.Domain)
			}
			return w.Flush()
		},
	}
}

func humanSince(t time.Time) string { return units.HumanDuration(time.Since(t)) }

func rmCommand() *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Usage:     "stop instances and remove their domain, disk and log",
		ArgsUsage: "INSTANCE...",
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "time", Aliases: []string{"t"}, Value: limits.DefaultStopTimeout, Usage: "grace period after the ACPI shutdown request before the VM is destroyed"},
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "destroy at once, no shutdown request"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return bad(fmt.Errorf("rm: name the instance to remove, e.g. vmfleet rm i-0123456789ab (see vmfleet ps)"))
			}
			cl, _, err := ensureDaemon(c)
			if err != nil {
				return err
			}
			grace := c.Duration("time")
			if c.Bool("force") {
				grace = 0
			}
			var failed []error
			for _, ref := range c.Args().Slice() {
				if err := cl.Remove(c.Context, ref, grace); err != nil {
					failed = append(failed, err)
					continue
				}
				fmt.Println(ref)
			}
			return errors.Join(failed...)
		},
	}
}
