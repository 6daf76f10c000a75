package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
)

func metricsCommand() *cli.Command {
	return &cli.Command{
		Name:      "metrics",
		Usage:     "the history behind vmfleet top: a service's or an instance's metrics, one point a second",
		ArgsUsage: "SERVICE | FLEET/SERVICE | INSTANCE",
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "since", Value: 10 * time.Minute, Usage: "how far back (an hour is kept)"},
			&cli.BoolFlag{Name: "json", Usage: "print the series as JSON"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return bad(errors.New("metrics: name a service or an instance, e.g. vmfleet metrics api"))
			}
			cl, _, err := ensureDaemon(c)
			if err != nil {
				return err
			}
			series, err := cl.History(c.Context, c.Args().First(), c.Duration("since"))
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(series)
			}
			// One row a second, one column a metric, as a spreadsheet
			// would want it.
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprint(w, "TIME\t")
			rows := map[time.Time][]string{}
			var times []time.Time
			for i, s := range series {
				fmt.Fprintf(w, "%s\t", s.Metric)
				for _, p := range s.Points {
					r, ok := rows[p.Time]
					if !ok {
						r = make([]string, len(series))
						times = append(times, p.Time)
					}
					r[i] = fmt.Sprintf("%.4g", p.Value)
					rows[p.Time] = r
				}
			}
			fmt.Fprintln(w)
			slices.SortFunc(times, time.Time.Compare)
			for _, t := range times {
				fmt.Fprintf(w, "%s\t", t.Local().Format("15:04:05"))
				for _, v := range rows[t] {
					fmt.Fprintf(w, "%s\t", v)
				}
				fmt.Fprintln(w)
			}
			return w.Flush()
		},
	}
}
