package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

// The faults an instance takes; libvirtd is the host's.
var instanceFaults = []string{api.FaultKill, api.FaultPause, api.FaultCPU, api.FaultUnhealthy, api.FaultNetwork}

func faultCommand() *cli.Command {
	return &cli.Command{
		Name: "fault",
		Usage: "inject a fault, recorded in the activity history (as AWS Fault Injection Service). Into an instance: " +
			"kill (kill -9 its QEMU, a crash: its group replaces it), pause (its vCPUs stopped, a hang), " +
			"cpu (a busy loop on each of its vCPUs), unhealthy (its health checks fail: out of its balancer, replaced by its group), " +
			"network (its NIC's link down). Into the host: libvirtd (stopped with SIGSTOP). " +
			"All but kill last --for a while and are undone when it ends or when the daemon stops",
		ArgsUsage: "kill|pause|cpu|unhealthy|network INSTANCE | libvirtd",
		Flags: []cli.Flag{&cli.DurationFlag{Name: "for", Value: limits.DefaultFaultDuration,
			Usage: fmt.Sprintf("how long the fault lasts (whole seconds, at most %s); not for kill", limits.MaxFaultDuration)}},
		Action: func(c *cli.Context) error {
			ref, req, err := faultRequest(c)
			if err != nil {
				return bad(err)
			}
			cl, _, err := ensureDaemon(c)
			if err != nil {
				return err
			}
			var f api.Fault
			if ref == "" {
				f, err = cl.InjectHostFault(c.Context, req)
			} else {
				f, err = cl.InjectFault(c.Context, ref, req)
			}
			if err != nil {
				return err
			}
			what := f.Action
			if f.Instance != "" {
				what = f.Instance + ": " + f.Action
			}
			if f.Until != nil {
				fmt.Printf("%s until %s\n", what, f.Until.Local().Format(time.TimeOnly))
				return nil
			}
			fmt.Println(what)
			return nil
		},
	}
}

// faultRequest reads the command line: the instance ("" for the host's
// fault) and the request, or what is wrong with it.
func faultRequest(c *cli.Context) (string, api.FaultRequest, error) {
	action := c.Args().First()
	req := api.FaultRequest{Action: action}
	switch {
	case c.NArg() == 0:
		return "", req, fmt.Errorf("fault: give a fault and the INSTANCE it hits, e.g. vmfleet fault cpu i-3f2a9c0d11e2 (see vmfleet ps), or vmfleet fault libvirtd")
	case action == api.FaultLibvirtd:
		if c.NArg() != 1 {
			return "", req, fmt.Errorf("fault libvirtd: it stops the host's libvirtd and takes no INSTANCE; give vmfleet fault libvirtd --for 10s")
		}
	case slices.Contains(instanceFaults, action):
		if c.NArg() != 2 {
			return "", req, fmt.Errorf("fault %s: give one INSTANCE, e.g. vmfleet fault %s i-3f2a9c0d11e2 (see vmfleet ps)", action, action)
		}
	default:
		return "", req, fmt.Errorf("fault %q: give kill, pause, cpu, unhealthy or network and an INSTANCE, or libvirtd", action)
	}
	if action == api.FaultKill {
		if c.IsSet("for") {
			return "", req, fmt.Errorf("fault kill: a kill is not undone, so it takes no --for")
		}
		return c.Args().Get(1), req, nil
	}
	d := c.Duration("for")
	if d <= 0 || d%time.Second != 0 || d > limits.MaxFaultDuration {
		return "", req, fmt.Errorf("fault %s: --for %s: give whole seconds up to %s, e.g. 30s", action, d, limits.MaxFaultDuration)
	}
	req.Seconds = int(d / time.Second)
	return c.Args().Get(1), req, nil
}
