package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/urfave/cli/v2"

	"github.com/vmfleet/vmfleet/pkg/api"
)

func bakeCommand() *cli.Command {
	return &cli.Command{
		Name:      "bake",
		Usage:     "bake a service into a bootable image (cached by content)",
		ArgsUsage: "[-- COMMAND ARGS...]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Usage: "image name (lower-case letters, digits, '-'); required"},
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
			// Checked here, not with Required: urfave's own check prints
			// the help page and fails as if the machine had.
			if c.String("name") == "" {
				return bad(errors.New("--name is missing: name the image, e.g. vmfleet bake --name hello --binary ./hello"))
			}
			cl, _, err := ensureDaemon(c)
			if err != nil {
				return err
			}
			res, err := cl.Bake(c.Context, api.BakeRequest{
				Name: c.String("name"), Binary: abs(c.String("binary")), Rootfs: abs(c.String("rootfs")), Copies: absCopies(c.StringSlice("copy")),
				Env: c.StringSlice("env"), Port: c.Int("port"), Command: c.Args().Slice(),
				KernelVersion: c.String("kernel-version"), Init: abs(c.String("init")),
			})
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(res.Image)
			}
			how := "baked"
			if res.Cached {
				how = "unchanged"
			}
			fmt.Printf("%s %s %s (%s, %s, kernel %s) in %s\n", how, res.Image.Name, res.Image.ImageID, res.Image.Digest[:12],
				units.HumanSize(float64(res.Image.SizeBytes)), res.Image.KernelVersion, res.Took.Round(time.Millisecond))
			return nil
		},
	}
}

// abs makes a path the daemon reads absolute: it does not share our
// working directory.
func abs(p string) string {
	if p == "" {
		return ""
	}
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// absCopies makes the SRC of each --copy SRC:DST absolute.
func absCopies(copies []string) []string {
	out := make([]string, 0, len(copies))
	for _, cp := range copies {
		if src, dst, ok := strings.Cut(cp, ":"); ok && src != "" {
			cp = abs(src) + ":" + dst
		}
		out = append(out, cp)
	}
	return out
}

func imagesCommand() *cli.Command {
	return &cli.Command{
		Name:  "images",
		Usage: "list baked images",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print a JSON array"}},
		Action: func(c *cli.Context) error {
			cl, _, err := ensureDaemon(c)
			if err != nil {
				return err
			}
			list, err := cl.Images(c.Context)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(list)
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tDIGEST\tSOURCE\tPORT\tSIZE\tKERNEL\tCREATED")
			for _, m := range list {
				fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\t%s ago\n", m.Name, m.Digest[:12], m.Source, m.Port,
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
				return bad(fmt.Errorf("rmi: name the image to remove, e.g. vmfleet rmi hello"))
			}
			cl, _, err := ensureDaemon(c)
			if err != nil {
				return err
			}
			for _, ref := range c.Args().Slice() {
				img, err := cl.RemoveImage(c.Context, ref)
				if err != nil {
					return err
				}
				fmt.Println("removed", img.Name, img.Digest[:12])
			}
			return nil
		},
	}
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
