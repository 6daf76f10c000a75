package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/vmfleet/vmfleet/pkg/client"
)

// defaultTail is how many lines of each log logs shows unless told: a
// console log grows for as long as its instance runs.
const defaultTail = 100

func logsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "console output of one instance, or of every instance of a service (prefixed)",
		ArgsUsage: "SERVICE | INSTANCE",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing new output (and new instances of the service)"},
			&cli.StringFlag{Name: "tail", Aliases: []string{"n"}, Value: strconv.Itoa(defaultTail), Usage: `lines to show from the end of each log, or "all"`},
			&cli.StringFlag{Name: "fleet", Aliases: []string{"p"}, Usage: "the fleet whose service is meant, where several have one of that name"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return bad(errors.New("logs: name one service or instance, e.g. vmfleet logs web"))
			}
			n, err := parseTail(c.String("tail"))
			if err != nil {
				return bad(err)
			}
			cl, _, err := ensureDaemon(c)
			if err != nil {
				return err
			}
			return cl.Logs(c.Context, client.LogsQuery{Ref: c.Args().First(), Fleet: c.String("fleet"), Tail: n, Follow: c.Bool("follow")}, os.Stdout)
		},
	}
}

// parseTail reads --tail: a number of lines, or all.
func parseTail(s string) (int, error) {
	if s == "all" {
		return -1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("--tail %q: give a number of lines, e.g. --tail 50, or --tail all", s)
	}
	return n, nil
}
