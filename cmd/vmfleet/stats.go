package main

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/urfave/cli/v2"

	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

// statsRow is one running instance's resource use, as docker stats shows.
type statsRow struct {
	Fleet      string  `json:"fleet,omitempty"`
	Service    string  `json:"service"`
	ID         string  `json:"id"`
	CPUPercent float64 `json:"cpu_percent"` // of one core
	CPUCap     float64 `json:"cpu_cap"`     // cores; 0 for none
	RSSBytes   uint64  `json:"rss_bytes"`   // the whole QEMU process
	LimitBytes uint64  `json:"limit_bytes"` // the cgroup hard limit
	GuestBytes uint64  `json:"guest_bytes"` // guest RAM
}

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
			_, mgr, err := openInstances(c)
			if err != nil {
				return err
			}
			defer mgr.HV.Close()
			list, err := listInstances(c, mgr, c.String("fleet"))
			if err != nil {
				return err
			}
			before, err := mgr.HV.Stats(c.Context)
			if err != nil {
				return err
			}
			select {
			case <-c.Context.Done():
				return nil
			case <-time.After(c.Duration("interval")):
			}
			after, err := mgr.HV.Stats(c.Context)
			if err != nil {
				return err
			}
			rows := []statsRow{}
			for _, i := range list {
				a, ok := after[i.Domain]
				b, okb := before[i.Domain]
				if !ok || !okb {
					continue
				}
				r := statsRow{Fleet: i.Fleet, Service: i.Service, ID: i.ID, CPUPercent: hypervisor.CPUPercent(b, a),
					RSSBytes: a.RSSKiB * 1024, GuestBytes: a.MemoryKiB * 1024}
				if lim, err := mgr.HV.Limits(c.Context, i.Domain); err == nil {
					if lim.CPUQuota > 0 && lim.CPUPeriod > 0 {
						r.CPUCap = float64(lim.CPUQuota) / float64(lim.CPUPeriod)
					}
					r.LimitBytes = lim.MemoryHardLimitKiB * 1024
				}
				rows = append(rows, r)
			}
			if c.Bool("json") {
				return printJSON(rows)
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "FLEET\tSERVICE\tID\tCPU %\tCPU CAP\tMEM (QEMU)\tMEM LIMIT\tGUEST RAM")
			for _, r := range rows {
				fmt.Fprintf(w, "%s\t%s\t%s\t%.1f%%\t%.2g\t%s\t%s\t%s\n", fleetLabel(r.Fleet), r.Service, r.ID, r.CPUPercent, r.CPUCap,
					units.BytesSize(float64(r.RSSBytes)), units.BytesSize(float64(r.LimitBytes)), units.BytesSize(float64(r.GuestBytes)))
			}
			return w.Flush()
		},
	}
}
