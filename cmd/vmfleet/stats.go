package main

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/urfave/cli/v2"
)

func statsCommand() *cli.Command {
	return &cli.Command{
		Name:  "stats",
		Usage: "CPU and memory of every running instance, against its caps",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print a JSON array"},
			&cli.StringFlag{Name: "fleet", Aliases: []string{"p"}, Usage: "only this fleet's instances"},
			&cli.DurationFlag{Name: "interval", Value: time.Second, Usage: "how long to measure CPU use over"},
		},
		Action: func(c *cli.Context) error {
			cl, _, err := ensureDaemon(c)
			if err != nil {
				return err
			}
			rows, err := cl.Stats(c.Context, c.String("fleet"), c.Duration("interval"))
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(rows)
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "FLEET\tSERVICE\tID\tCPU %\tCPU CAP\tMEM (QEMU RSS)\tPSS\tMEM LIMIT\tGUEST RAM")
			for _, r := range rows {
				capNow := fmt.Sprintf("%.2g", r.CPUCap)
				if r.BurstUntil != nil {
					capNow += fmt.Sprintf(" (boot burst, %s left)", time.Until(*r.BurstUntil).Round(time.Second))
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%.1f%%\t%s\t%s\t%s\t%s\t%s\n", dash(r.Fleet), r.Service, r.ID, r.CPUPercent, capNow,
					units.BytesSize(float64(r.RSSBytes)), units.BytesSize(float64(r.PSSBytes)),
					units.BytesSize(float64(r.LimitBytes)), units.BytesSize(float64(r.GuestBytes)))
			}
			return w.Flush()
		},
	}
}
