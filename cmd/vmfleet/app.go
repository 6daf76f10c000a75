package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/vmfleet/vmfleet/images"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/image"
	"github.com/vmfleet/vmfleet/pkg/initbin"
	"github.com/vmfleet/vmfleet/pkg/instance"
	"github.com/vmfleet/vmfleet/pkg/kernel"
)

func newApp() *cli.App {
	return &cli.App{
		Name:  "vmfleet",
		Usage: "run services as fleets of real VMs: baked images, one VM per instance, a balancer in front",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "connect", Aliases: []string{"c"}, Usage: "libvirt URI (default: $LIBVIRT_DEFAULT_URI, else qemu:///system)"},
			&cli.StringFlag{Name: "home", EnvVars: []string{"VMFLEET_HOME"}, Usage: "where images, instance disks and logs live (default: /var/lib/vmfleet as root, else $XDG_DATA_HOME/vmfleet)"},
			&cli.StringFlag{Name: "log-level", Value: "warn", Usage: "debug, info, warn or error"},
		},
		Commands: []*cli.Command{
			bakeCommand(), imagesCommand(), rmiCommand(),
			runCommand(), psCommand(), logsCommand(), rmCommand(),
			upCommand(), diffCommand(), downCommand(), scaleCommand(), lsCommand(), eventsCommand(), statsCommand(),
			daemonCommand(), infoCommand(), versionCommand(),
		},
		ExitErrHandler: func(*cli.Context, error) {}, // main prints errors, once
	}
}

// env is what every command is wired from.
type env struct {
	home string
	log  *slog.Logger
}

func newEnv(c *cli.Context) (*env, error) {
	h, err := prepareHome(c)
	if err != nil {
		return nil, err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", c.String("log-level"))
	}
	return &env{home: h.Dir, log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))}, nil
}

func (e *env) store() (*image.Store, error) { return image.OpenStore(e.home) }

func (e *env) connect(c *cli.Context) (*hypervisor.Libvirt, error) {
	return hypervisor.Connect(c.Context, hypervisor.ChooseURI(c.String("connect"), os.Getenv))
}

// openInstances wires the commands that work on instances: the env, a
// libvirt connection and the instance manager over it. The caller closes
// mgr.HV.
func openInstances(c *cli.Context) (*env, *instance.Manager, error) {
	e, err := newEnv(c)
	if err != nil {
		return nil, nil, err
	}
	hv, err := e.connect(c)
	if err != nil {
		return nil, nil, err
	}
	return e, e.instances(hv), nil
}

// listInstances lists instances grouped as a fleet reads, by fleet, then
// service, then age; only fleet's when fleet is given.
func listInstances(c *cli.Context, mgr *instance.Manager, fleet string) ([]*instance.Instance, error) {
	all, err := mgr.List(c.Context)
	if err != nil {
		return nil, err
	}
	var out []*instance.Instance
	for _, i := range all {
		if fleet == "" || i.Fleet == fleet {
			out = append(out, i)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Fleet != out[j].Fleet {
			return out[i].Fleet < out[j].Fleet
		}
		return out[i].Service < out[j].Service
	})
	return out, nil
}

// fleetLabel is how tables show an instance's fleet.
func fleetLabel(f string) string {
	if f == "" {
		return "-"
	}
	return f
}

func (e *env) instances(hv hypervisor.Hypervisor) *instance.Manager {
	return &instance.Manager{HV: hv, Dir: filepath.Join(e.home, "instances"), Log: e.log}
}

// bakeInputs resolves the kernel and the init binary every bake needs.
func bakeInputs(c *cli.Context) (image.Inputs, error) {
	return bakeInputsFor(c.String("kernel-version"), c.String("init"))
}

// bakeInputsFor is bakeInputs for a kernel version and init path.
func bakeInputsFor(kernelVersion, initPath string) (image.Inputs, error) {
	def, err := kernel.ParseDefinition(images.KernelJSON)
	if err != nil {
		return image.Inputs{}, err
	}
	sel := kernel.SelectorFromEnv(os.Getenv)
	if kernelVersion != "" {
		sel = kernel.Selector{Version: kernelVersion}
	}
	k, err := kernel.Resolve(def, sel)
	if err != nil {
		return image.Inputs{}, err
	}
	init, err := initbin.Choose(initPath)
	if err != nil {
		return image.Inputs{}, err
	}
	return image.Inputs{Kernel: k, Init: init}, nil
}

// oneLine keeps an error to the one line the user reads.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}
