package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/vmfleet/vmfleet/pkg/api"
)

func faultCommand() *cli.Command {
	return &cli.Command{
		Name: "fault",
		Usage: "inject a fault into an instance, recorded in the activity history (as AWS Fault Injection Service): " +
			"kill (kill -9 its QEMU, a crash: its group replaces it) or pause (its vCPUs stopped --for a while, a hang; undone when it ends or the daemon stops)",
		ArgsUsage: "kill|pause INSTANCE",
		Flags:     []cli.Flag{&cli.DurationFlag{Name: "for", Value: 30 * time.Second, Usage: "how long a pause lasts (whole seconds, at most 10m)"}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return bad(fmt.Errorf("fault: give kill or pause and one INSTANCE, e.g. vmfleet fault kill i-3f2a9c0d11e2 (see vmfleet ps)"))
			}
			req := api.FaultRequest{Action: c.Args().Get(0)}
			switch req.Action {
			case api.FaultKill:
				if c.IsSet("for") {
					return bad(fmt.Errorf("fault kill: --for is for a pause; a kill is not undone"))
				}
			case api.FaultPause:
				d := c.Duration("for")
				if d <= 0 || d%time.Second != 0 {
					return bad(fmt.Errorf("fault pause: --for %s: give whole seconds, e.g. 30s", d))
				}
				req.Seconds = int(d / time.Second)
			default:
				return bad(fmt.Errorf("fault %q: give kill or pause", req.Action))
			}
			cl, _, err := ensureDaemon(c)
			if err != nil {
				return err
			}
			f, err := cl.InjectFault(c.Context, c.Args().Get(1), req)
			if err != nil {
				return err
			}
			if f.Until != nil {
				fmt.Printf("%s: %s until %s\n", f.Instance, f.Action, f.Until.Local().Format(time.TimeOnly))
				return nil
			}
			fmt.Printf("%s: %s\n", f.Instance, f.Action)
			return nil
		},
	}
}
