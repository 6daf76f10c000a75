package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/vmfleet/vmfleet/pkg/guestexec"
)

func execCommand() *cli.Command {
	return &cli.Command{
		Name:                   "exec",
		Usage:                  "run a command inside an instance's guest, as its service runs (like docker exec)",
		ArgsUsage:              "INSTANCE -- COMMAND [ARG...]",
		UseShortOptionHandling: true, // -it, as docker users type it
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "forward stdin to the command (otherwise it reads /dev/null)"},
			&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "give the command a terminal; its stderr arrives on stdout"},
			&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "KEY=VALUE added to the service's environment (repeatable)"},
			&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working directory in the guest (default: the service's)"},
		},
		Action: func(c *cli.Context) error {
			instance, argv, err := execArgs(c.Args().Slice())
			if err != nil {
				return bad(err)
			}
			req := guestexec.Request{Argv: argv, Env: c.StringSlice("env"), WorkDir: c.String("workdir"), TTY: c.Bool("tty"), Stdin: c.Bool("interactive")}
			if err := req.Validate(); err != nil {
				return bad(err)
			}
			cl, _, err := ensureDaemon(c)
			if err != nil {
				return err
			}
			ctx, stop := context.WithCancel(c.Context)
			defer stop() // ends the resize forwarding
			var stdin io.Reader
			if req.Stdin {
				stdin = os.Stdin
			}
			var resize <-chan guestexec.Size
			if req.TTY {
				t, err := takeTerminal(req.Stdin)
				if err != nil {
					return bad(err)
				}
				defer t.restore()
				s := t.size()
				req.Rows, req.Cols = s.Rows, s.Cols
				resize = t.resizes(ctx)
			}
			status, err := cl.Exec(ctx, instance, req, stdin, os.Stdout, os.Stderr, resize)
			switch {
			case err != nil && c.Context.Err() != nil:
				return exitStatus(128 + int(syscall.SIGINT)) // interrupted, as a shell reports it
			case err != nil:
				return err
			case status != 0:
				return exitStatus(status)
			}
			return nil
		},
	}
}

// execArgs splits INSTANCE [--] COMMAND [ARG...].
func execArgs(args []string) (instance string, argv []string, err error) {
	if len(args) == 0 {
		return "", nil, errors.New("exec: name the instance and the command, e.g. vmfleet exec i-0123456789ab -- sh (see vmfleet ps)")
	}
	instance, argv = args[0], args[1:]
	if len(argv) > 0 && argv[0] == "--" {
		argv = argv[1:]
	}
	if len(argv) == 0 {
		return "", nil, fmt.Errorf("exec: name the command to run after the instance, e.g. vmfleet exec %s -- sh", instance)
	}
	return instance, argv, nil
}

// terminal is the local terminal while a command in the guest owns it:
// raw, so every key (^C too) goes to the command and its pty echoes.
type terminal struct {
	fd    int
	saved *term.State // nil: stdin is no terminal, nothing to restore
}

func takeTerminal(interactive bool) (*terminal, error) {
	in := int(os.Stdin.Fd())
	if !term.IsTerminal(in) {
		if interactive {
			return nil, errors.New("exec: -t with -i needs a terminal on stdin; drop -t to pipe input in")
		}
		return &terminal{fd: int(os.Stdout.Fd())}, nil
	}
	saved, err := term.MakeRaw(in)
	if err != nil {
		return nil, fmt.Errorf("exec: put the terminal in raw mode: %w", err)
	}
	return &terminal{fd: in, saved: saved}, nil
}

func (t *terminal) restore() {
	if t.saved != nil {
		_ = term.Restore(t.fd, t.saved)
	}
}

// size is the terminal's size, zero when there is none to measure.
func (t *terminal) size() guestexec.Size {
	w, h, err := term.GetSize(t.fd)
	if err != nil {
		return guestexec.Size{}
	}
	return guestexec.Size{Rows: uint16(h), Cols: uint16(w)}
}

// resizes sends the terminal's size each time it changes, until ctx ends.
func (t *terminal) resizes(ctx context.Context) <-chan guestexec.Size {
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	out := make(chan guestexec.Size)
	go func() {
		defer signal.Stop(winch)
		for {
			select {
			case <-winch:
				select {
				case out <- t.size():
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
