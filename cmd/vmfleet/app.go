package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

func newApp() *cli.App {
	app := &cli.App{
		Name:  "vmfleet",
		Usage: "run services as fleets of real VMs: baked images, one VM per instance, a balancer in front",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "connect", Aliases: []string{"c"}, Usage: "libvirt URI the daemon uses (default: $LIBVIRT_DEFAULT_URI, else qemu:///system)"},
			&cli.StringFlag{Name: "home", EnvVars: []string{"VMFLEET_HOME"}, Usage: "where images, instance disks and logs live (default: /var/lib/vmfleet as root, else $XDG_DATA_HOME/vmfleet)"},
			&cli.StringFlag{Name: "log-level", Value: "warn", Usage: "debug, info, warn or error"},
			cli.HelpFlag, // urfave adds it only beside its own help command
		},
		Commands: []*cli.Command{
			bakeCommand(), imagesCommand(), rmiCommand(),
			runCommand(), psCommand(), logsCommand(), execCommand(), rmCommand(),
			upCommand(), diffCommand(), downCommand(), scaleCommand(), lsCommand(), eventsCommand(), statsCommand(), topCommand(),
			metricsCommand(), loadCommand(), faultCommand(), dashboardCommand(), protectCommand(), awsCommand(), daemonCommand(), infoCommand(), versionCommand(), helpCommand(),
		},
		HideHelpCommand: true,                         // ours: urfave's exits 3 for a command it does not know
		ExitErrHandler:  func(*cli.Context, error) {}, // main prints errors, once
		// Without an action urfave shows "No help topic" and exits 3.
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return unknownCommand(c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		OnUsageError: usageError,
	}
	setUsageError(app.Commands)
	return app
}

func unknownCommand(name string) error {
	return bad(fmt.Errorf("unknown command %q; run vmfleet help for the list", name))
}

func helpCommand() *cli.Command {
	return &cli.Command{
		Name: "help", Aliases: []string{"h"}, Usage: "list the commands, or show one command's help", ArgsUsage: "[COMMAND]",
		Action: func(c *cli.Context) error {
			name := c.Args().First()
			switch {
			case name == "":
				return cli.ShowAppHelp(c)
			case c.App.Command(name) == nil:
				return unknownCommand(name)
			}
			return cli.ShowCommandHelp(c.Lineage()[1], name) // the root lists the commands
		},
	}
}

// usageError makes a bad flag bad input, in one line with where to look,
// instead of urfave's help page and a failure's exit status.
func usageError(c *cli.Context, err error, _ bool) error {
	return bad(fmt.Errorf("%v; see %s --help", err, c.Command.HelpName))
}

func setUsageError(cmds []*cli.Command) {
	for _, cmd := range cmds {
		cmd.OnUsageError = usageError
		setUsageError(cmd.Subcommands)
	}
}

// logger is the daemon's log, at --log-level.
func logger(c *cli.Context) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return nil, bad(fmt.Errorf("--log-level %q: use debug, info, warn or error", c.String("log-level")))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})), nil
}

// dash is how tables show an empty field (an instance in no fleet, a
// phase no controller gave).
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps an error to the one line the user reads.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}
