package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/flock"
	"github.com/google/renameio/v2"
	"github.com/urfave/cli/v2"

	"github.com/vmfleet/vmfleet/pkg/client"
	"github.com/vmfleet/vmfleet/pkg/daemon"
	"github.com/vmfleet/vmfleet/pkg/dashboard"
	"github.com/vmfleet/vmfleet/pkg/home"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/spare"
	"github.com/vmfleet/vmfleet/pkg/supervisor"
)

func daemonCommand() *cli.Command {
	return &cli.Command{
		Name:  "daemon",
		Usage: "run the daemon that owns this home's fleets (the CLI starts it on first use)",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "tcp", Usage: "also serve the API on this 127.0.0.1 address, guarded by the token in HOME/state/api-token"},
			&cli.StringFlag{Name: "metrics", Usage: "serve Prometheus metrics on this address (default: the one used last, else a free 127.0.0.1 port; see vmfleet info)"},
			&cli.BoolFlag{Name: "cold-boot", EnvVars: []string{"VMFLEET_COLD_BOOT"}, Usage: "boot every instance's kernel instead of restoring it from a snapshot of its machine"},
			&cli.IntFlag{Name: "spares", EnvVars: []string{"VMFLEET_SPARES"}, Value: spare.DefaultMax, Usage: "instances kept restored and paused for `run`, one per kind lately run (0: none)"},
			&cli.BoolFlag{Name: "worker", Hidden: true},
		}, append(awsFlags(), dashboardFlags()...)...),
		Subcommands: []*cli.Command{{
			Name:  "stop",
			Usage: "stop the daemon; instances keep running and the next daemon adopts them",
			Action: func(c *cli.Context) error {
				h, err := prepareHome(c)
				if err != nil {
					return err
				}
				cl := client.Unix(h.Socket())
				if err := cl.Shutdown(c.Context); err != nil {
					if errors.Is(err, client.ErrNoDaemon) {
						return nil
					}
					return err
				}
				return waitDaemonGone(c.Context, h)
			},
		}},
		Action: func(c *cli.Context) error {
			if n := c.Int("spares"); n < 0 {
				return bad(fmt.Errorf("--spares %d: give how many spares to keep, 0 for none", n))
			}
			if err := checkAWSFlags(c); err != nil {
				return err
			}
			if err := checkDashboardFlags(c); err != nil {
				return err
			}
			if c.Bool("worker") {
				return runWorker(c)
			}
			return runSupervisor(c)
		},
	}
}

// runSupervisor takes the home's lock, listens on the API socket and
// keeps a worker running on it.
func runSupervisor(c *cli.Context) error {
	h, err := prepareHome(c)
	if err != nil {
		return err
	}
	lock := flock.New(h.Lock())
	ok, err := lock.TryLock()
	if err != nil {
		return fmt.Errorf("lock %s: %w", h.Lock(), err)
	}
	if !ok {
		return bad(fmt.Errorf("a daemon already runs for %s (its lock is %s); stop it with vmfleet daemon stop", h.Dir, h.Lock()))
	}
	defer lock.Unlock()
	_ = os.Remove(h.Socket()) // left by a daemon that was killed: we hold the lock
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: h.Socket(), Net: "unix"})
	if err != nil {
		return fmt.Errorf("daemon socket: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	defer ln.Close()
	if err := socketAccess(h.Socket()); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	log, err := logger(c)
	if err != nil {
		return err
	}
	args := append(globalArgs(c, h), "daemon", "--worker")
	if t := c.String("tcp"); t != "" {
		args = append(args, "--tcp", t)
	}
	if m := c.String("metrics"); m != "" {
		args = append(args, "--metrics", m)
	}
	if c.Bool("cold-boot") {
		args = append(args, "--cold-boot")
	}
	args = append(args, "--spares", strconv.Itoa(c.Int("spares")))
	args = append(args, awsArgs(c)...)
	args = append(args, dashboardArgs(c)...)
	return supervisor.Run(c.Context, supervisor.Config{
		API: ln, Log: log,
		Worker: func() *exec.Cmd {
			cmd := exec.Command(self, args...)
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			return cmd
		},
	})
}

// socketAccess gives the socket to group vmfleet (made by set-up) where
// it exists, mode 0660: its members drive the daemon, as docker's group
// does (and, like it, are as good as root).
func socketAccess(path string) error {
	gid := -1
	if g, err := lookupGroup("vmfleet"); err == nil {
		gid = g
	}
	if gid >= 0 {
		if err := os.Chown(path, -1, gid); err != nil {
			return fmt.Errorf("daemon socket: %w", err)
		}
	}
	return os.Chmod(path, 0o660)
}

// runWorker is the daemon proper: under a supervisor it serves the
// supervisor's sockets; alone (tests, debugging) it listens itself.
func runWorker(c *cli.Context) error {
	h, err := prepareHome(c)
	if err != nil {
		return err
	}
	log, err := logger(c)
	if err != nil {
		return err
	}
	apiLn, ls, err := supervisor.Worker()
	if err != nil {
		return err
	}
	if apiLn == nil {
		return errors.New("daemon --worker runs under vmfleet daemon")
	}
	ctx, stop := context.WithCancel(c.Context)
	defer stop()
	metricsLn, err := metricsListener(ctx, h, ls, c.String("metrics"))
	if err != nil {
		return err
	}
	awsEP, awsKey, awsLn, err := awsEndpoint(ctx, c, h, ls)
	if err != nil {
		return err
	}
	dash, dashLn, dashToken, err := dashboardEndpoint(ctx, c, h, ls)
	if err != nil {
		return err
	}
	d, err := daemon.New(ctx, daemon.Config{
		AWS: awsEP, AWSKey: awsKey, Dashboard: dash,
		MetricsURL: "http://" + metricsLn.Addr().String() + "/metrics",
		Home:       h, URI: hypervisor.ChooseURI(c.String("connect"), os.Getenv), Version: version(), Log: log,
		Listeners: ls, SupervisorPID: os.Getppid(), TCP: c.String("tcp"), ColdBoot: c.Bool("cold-boot"),
		Spares: c.Int("spares"),
	})
	if err != nil {
		return err
	}
	ls.Ready()
	if addr := os.Getenv("VMFLEET_PPROF"); addr != "" {
		go servePprof(ctx, addr, log) // a debugging aid, on loopback only
	}
	handler := d.Handler("", stop)
	served := make(chan error, 8)
	go func() { served <- daemon.Serve(ctx, apiLn, handler) }()
	go func() { served <- daemon.Serve(ctx, metricsLn, d.Prometheus()) }()
	if awsLn != nil {
		go func() { served <- daemon.Serve(ctx, awsLn, d.AWSHandler()) }()
	}
	if dashLn != nil {
		page, err := dashboard.New(d, dashboard.Options{Token: dashToken, Controls: dash.Controls, Log: log})
		if err != nil {
			return err
		}
		go page.Run(ctx)
		go func() { served <- daemon.Serve(ctx, dashLn, page.Handler()) }()
	}
	if t := c.String("tcp"); t != "" {
		token, err := apiToken(h)
		if err != nil {
			return err
		}
		tl, err := ls.Listen(ctx, t)
		if err != nil {
			return fmt.Errorf("--tcp %s: %w", t, err)
		}
		go func() { served <- daemon.Serve(ctx, tl, d.Handler(token, stop)) }()
	}
	err = d.Run(ctx)
	stop()
	<-served
	return err
}

// ensureDaemon returns a client of the home's daemon, starting one when
// none answers, and says so in one line.
func ensureDaemon(c *cli.Context) (*client.Client, home.Home, error) {
	h, err := prepareHome(c)
	if err != nil {
		return nil, h, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, h, err
	}
	cl, pid, err := client.Ensure(c.Context, client.Daemon{Socket: h.Socket(), Binary: self, Args: globalArgs(c, h), Log: h.DaemonLog()})
	if err != nil {
		return nil, h, err
	}
	if pid != 0 {
		fmt.Fprintf(os.Stderr, "vmfleet: started the daemon for %s (pid %d, log %s)\n", h.Dir, pid, h.DaemonLog())
	} else if u := c.String("connect"); u != "" {
		// The running daemon keeps its libvirt; say so rather than use
		// another one quietly.
		if in, err := cl.Info(c.Context); err == nil && in.LibvirtURI != u {
			return nil, h, bad(fmt.Errorf("the daemon for %s uses libvirt at %s, not %s; to switch, stop it with vmfleet daemon stop", h.Dir, in.LibvirtURI, u))
		}
	}
	return cl, h, nil
}

// globalArgs passes this command's home, libvirt URI and log level on.
func globalArgs(c *cli.Context, h home.Home) []string {
	args := []string{"--home", h.Dir, "--log-level", c.String("log-level")}
	if u := c.String("connect"); u != "" {
		args = append(args, "--connect", u)
	}
	return args
}

func waitDaemonGone(ctx context.Context, h home.Home) error {
	lock := flock.New(h.Lock())
	for i := 0; i < 600; i++ {
		if ok, err := lock.TryLock(); err == nil && ok {
			return lock.Unlock()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("the daemon for %s did not stop within 60s", h.Dir)
}

func prepareHome(c *cli.Context) (home.Home, error) {
	dir := c.String("home")
	if dir == "" {
		dir = home.Default()
	}
	h, err := home.Prepare(dir)
	if err != nil {
		if errors.Is(err, home.ErrUnreachable) {
			return h, bad(err)
		}
		return h, err
	}
	return h, nil
}

func apiToken(h home.Home) (string, error) {
	if b, err := os.ReadFile(h.Token()); err == nil {
		return string(b), nil
	}
	tok := newToken()
	// Whole or not at all: a crash must not leave an empty token.
	if err := renameio.WriteFile(h.Token(), []byte(tok), 0o600); err != nil {
		return "", fmt.Errorf("API token: %w", err)
	}
	return tok, nil
}

// newToken makes the TCP API's bearer token.
func newToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func lookupGroup(name string) (int, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return -1, err
	}
	return strconv.Atoi(g.Gid)
}

// servePprof serves Go's profiler for `go tool pprof`; VMFLEET_PPROF names
// the address, which must be on loopback.
func servePprof(ctx context.Context, addr string, log *slog.Logger) {
	if host, _, err := net.SplitHostPort(addr); err != nil || !net.ParseIP(host).IsLoopback() {
		log.Warn("VMFLEET_PPROF must be a loopback address, like 127.0.0.1:6060", "addr", addr)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { <-ctx.Done(); srv.Close() }()
	log.Info("profiler", "addr", addr, "err", srv.ListenAndServe())
}

// metricsListener listens where --metrics says, else where the last
// daemon of this home did (a Prometheus configuration keeps working),
// else on a free loopback port, which it remembers.
func metricsListener(ctx context.Context, h home.Home, ls *supervisor.Listeners, flag string) (net.Listener, error) {
	remembered := filepath.Join(h.State(), "metrics-addr")
	addr := flag
	if addr == "" {
		if b, err := os.ReadFile(remembered); err == nil {
			addr = strings.TrimSpace(string(b))
		}
	}
	if addr != "" {
		ln, err := ls.Listen(ctx, addr)
		if err == nil || flag != "" {
			if err != nil {
				return nil, fmt.Errorf("--metrics %s: %w", flag, err)
			}
			return ln, renameio.WriteFile(remembered, []byte(ln.Addr().String()), 0o600)
		}
	}
	ln, err := ls.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("metrics listener: %w", err)
	}
	return ln, renameio.WriteFile(remembered, []byte(ln.Addr().String()), 0o600)
}
