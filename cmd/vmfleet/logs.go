package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/vmfleet/vmfleet/pkg/instance"
)

func logsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "console output of one instance, or of every instance of a service (prefixed)",
		ArgsUsage: "SERVICE | INSTANCE",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing new output (and new instances of the service)"},
			&cli.StringFlag{Name: "fleet", Aliases: []string{"p"}, Usage: "the fleet whose service is meant, where several have one of that name"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return errors.New("logs: name one service or instance, e.g. vmfleet logs web")
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
			t := &tailer{offsets: map[string]int64{}, partial: map[string][]byte{}, prefix: !single}
			for _, i := range insts {
				t.copy(i)
			}
			if !c.Bool("follow") {
				return nil
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
					}
				}
				for _, i := range insts {
					t.copy(i)
				}
			}
		},
	}
}

// tailer prints what each console log gained since last time, whole lines
// only, prefixed with service/instance when several are interleaved.
type tailer struct {
	offsets map[string]int64
	partial map[string][]byte
	prefix  bool
}

func (t *tailer) copy(i *instance.Instance) {
	f, err := os.Open(i.Console)
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := f.Seek(t.offsets[i.ID], io.SeekStart); err != nil {
		return
	}
	b, _ := io.ReadAll(f)
	t.offsets[i.ID] += int64(len(b))
	buf := append(t.partial[i.ID], b...)
	for {
		nl := bytes.IndexByte(buf, '\n')
		if nl < 0 {
			break
		}
		line := bytes.TrimRight(buf[:nl], "\r")
		if t.prefix {
			fmt.Printf("%s/%s | %s\n", i.Service, i.ID, line)
		} else {
			fmt.Printf("%s\n", line)
		}
		buf = buf[nl+1:]
	}
	t.partial[i.ID] = append([]byte(nil), buf...)
}
