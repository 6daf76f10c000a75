package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/urfave/cli/v2"

	"github.com/vmfleet/vmfleet/pkg/image"
	"github.com/vmfleet/vmfleet/pkg/instance"
)

func bakeCommand() *cli.Command {
	return &cli.Command{
		Name:      "bake",
		Usage:     "bake a service into a bootable image (cached by content)",
		ArgsUsage: "[-- COMMAND ARGS...]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Usage: "image name (lower-case letters, digits, '-')", Required: true},
			&cli.StringFlag{Name: "binary", Usage: "a static Linux executable; lands in /app/"},
			&cli.StringSliceFlag{Name: "copy", Usage: "SRC:DST, a host file or directory copied into the image (repeatable)"},
			&cli.StringFlag{Name: "rootfs", Usage: "a root filesystem tarball (tar, tar.gz, tar.xz, tar.zst), e.g. from docker export"},
			&cli.StringSliceFlag{Name: "env", Usage: "KEY=VALUE for the service (repeatable)"},
			&cli.IntFlag{Name: "port", Usage: "the port the service listens on in the guest"},
			&cli.StringFlag{Name: "kernel-version", EnvVars: []string{"VMFLEET_KERNEL_VERSION"}, Usage: "guest kernel version (default: newest installed of images/kernel.json's series)"},
			&cli.StringFlag{Name: "init", EnvVars: []string{"VMFLEET_INIT"}, Usage: "the guest's init (default: vmfleet-init beside vmfleet, else vmfleet itself)"},
			&cli.BoolFlag{Name: "json", Usage: "print the manifest as JSON"},
		},
		Action: func(c *cli.Context) error {
			e, err := newEnv(c)
			if err != nil {
				return err
			}
			r := image.Recipe{
				Name: c.String("name"), Binary: c.String("binary"), Rootfs: c.String("rootfs"),
				Env: c.StringSlice("env"), Port: c.Int("port"), Command: c.Args().Slice(),
			}
			for _, s := range c.StringSlice("copy") {
				cp, err := image.ParseCopy(s)
				if err != nil {
					return err
				}
				r.Copies = append(r.Copies, cp)
			}
			// Check the recipe before resolving anything else, so the
			// user's mistake is the error they see.
			if err := r.Validate(); err != nil {
				return err
			}
			in, err := bakeInputs(c)
			if err != nil {
				return err
			}
			st, err := e.store()
			if err != nil {
				return err
			}
			start := time.Now()
			res, err := st.Bake(c.Context, r, in)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(res.Manifest)
			}
			how := "baked"
			if res.Cached {
				how = "unchanged"
			}
			fmt.Printf("%s %s %s (%s, kernel %s) in %s\n", how, res.Manifest.Name, res.Manifest.ShortDigest(),
				units.HumanSize(float64(res.Manifest.SizeBytes)), res.Manifest.KernelVersion, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
}

func imagesCommand() *cli.Command {
	return &cli.Command{
		Name:  "images",
		Usage: "list baked images",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print a JSON array"}},
		Action: func(c *cli.Context) error {
			e, err := newEnv(c)
			if err != nil {
				return err
			}
			st, err := e.store()
			if err != nil {
				return err
			}
			list, err := st.List()
			if err != nil {
				return err
			}
			if c.Bool("json") {
				if list == nil {
					list = []*image.Manifest{}
				}
				return printJSON(list)
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tDIGEST\tSOURCE\tPORT\tSIZE\tKERNEL\tCREATED")
			for _, m := range list {
				fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\t%s ago\n", m.Name, m.ShortDigest(), m.Source, m.Port,
					units.HumanSize(float64(m.SizeBytes)), m.KernelVersion, units.HumanDuration(time.Since(m.Created)))
			}
			return w.Flush()
		},
	}
}

func rmiCommand() *cli.Command {
	return &cli.Command{
		Name:      "rmi",
		Usage:     "remove an image no instance uses",
		ArgsUsage: "IMAGE...",
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return fmt.Errorf("rmi: name the image to remove, e.g. vmfleet rmi hello")
			}
			e, mgr, err := openInstances(c)
			if err != nil {
				return err
			}
			defer mgr.HV.Close()
			st, err := e.store()
			if err != nil {
				return err
			}
			insts, err := mgr.List(c.Context)
			if err != nil {
				return err
			}
			for _, ref := range c.Args().Slice() {
				m, err := st.Get(ref)
				if err != nil {
					return err
				}
				for _, i := range insts {
					if i.ImageDigest == m.Digest {
						return fmt.Errorf("image %s is used by instance %s (%s); remove it first with vmfleet rm %s", ref, i.ID, i.State, i.ID)
					}
				}
				if err := st.Remove(m.Digest); err != nil {
					return err
				}
				fmt.Println("removed", m.Name, m.ShortDigest())
			}
			// Images earlier bakes left unnamed go too, unless an instance
			// still boots from one.
			return st.Prune(usedBy(insts))
		},
	}
}

// usedBy reports whether one of insts runs on an image.
func usedBy(insts []*instance.Instance) func(string) bool {
	return func(digest string) bool {
		for _, i := range insts {
			if i.ImageDigest == digest {
				return true
			}
		}
		return false
	}
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
