package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/vmfleet/vmfleet/pkg/consolelog"
	"github.com/vmfleet/vmfleet/pkg/instance"
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
				return errors.New("logs: name one service or instance, e.g. vmfleet logs web")
			}
			n, err := parseTail(c.String("tail"))
			if err != nil {
				return err
			}
			_, mgr, err := openInstances(c)
			if err != nil {
				return err
			}
			defer mgr.HV.Close()
			ref, fleet := c.Args().First(), c.String("fleet")
			pick := func(ctx context.Context) ([]*instance.Instance, bool, error) {
				list, err := mgr.List(ctx)
				if err != nil {
					return nil, false, err
				}
				var svc []*instance.Instance
				for _, i := range list {
					if i.ID == ref || i.Domain == ref {
						return []*instance.Instance{i}, true, nil
					}
					if i.Service == ref && (fleet == "" || i.Fleet == fleet) {
						svc = append(svc, i)
					}
				}
				return svc, false, nil
			}
			insts, single, err := pick(c.Context)
			if err != nil {
				return err
			}
			if len(insts) == 0 {
				return fmt.Errorf("logs: no instance or service named %q; see vmfleet ps", ref)
			}
			p := newLogPrinter(os.Stdout, !single)
			defer p.close()
			for _, i := range insts {
				if err := p.tail(i, n); err != nil {
					return err
				}
			}
			if err := p.flush(); err != nil || !c.Bool("follow") {
				return err
			}
			for {
				select {
				case <-c.Context.Done():
					return nil
				case <-time.After(250 * time.Millisecond):
				}
				if !single {
					// Replacements and scale-outs join the stream.
					if now, _, err := pick(c.Context); err == nil && len(now) > 0 {
						insts = now
						p.keepOnly(insts)
					}
				}
				for _, i := range insts {
					if err := p.next(i); err != nil {
						return err
					}
				}
				if err := p.flush(); err != nil {
					return err
				}
			}
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

// logPrinter prints instances' console logs, whole lines only, prefixed
// with service/instance when several are interleaved.
type logPrinter struct {
	out       *bufio.Writer
	prefix    bool
	followers map[string]*consolelog.Follower // by instance id
}

func newLogPrinter(w io.Writer, prefix bool) *logPrinter {
	return &logPrinter{out: bufio.NewWriter(w), prefix: prefix, followers: map[string]*consolelog.Follower{}}
}

// tail prints the last n lines of an instance's log.
func (p *logPrinter) tail(i *instance.Instance, n int) error {
	fl, err := consolelog.Tail(i.Console, n, p.emit(i))
	if err != nil {
		return fmt.Errorf("logs %s: %w", i.ID, err)
	}
	p.followers[i.ID] = fl
	return nil
}

// next prints what an instance's log gained; one seen for the first time
// (a replacement, a scale-out) is printed from its start.
func (p *logPrinter) next(i *instance.Instance) error {
	fl, ok := p.followers[i.ID]
	if !ok {
		fl = consolelog.Follow(i.Console)
		p.followers[i.ID] = fl
	}
	if err := fl.Next(p.emit(i)); err != nil {
		return fmt.Errorf("logs %s: %w", i.ID, err)
	}
	return nil
}

// keepOnly lets go of the logs of instances no longer listed.
func (p *logPrinter) keepOnly(insts []*instance.Instance) {
	keep := map[string]bool{}
	for _, i := range insts {
		keep[i.ID] = true
	}
	for id, fl := range p.followers {
		if !keep[id] {
			fl.Close()
			delete(p.followers, id)
		}
	}
}

func (p *logPrinter) emit(i *instance.Instance) func([]byte) {
	return func(line []byte) {
		if p.prefix {
			fmt.Fprintf(p.out, "%s/%s | ", i.Service, i.ID)
		}
		p.out.Write(line)
		p.out.WriteByte('\n')
	}
}

func (p *logPrinter) flush() error { return p.out.Flush() }

func (p *logPrinter) close() {
	p.out.Flush()
	for _, fl := range p.followers {
		fl.Close()
	}
}
