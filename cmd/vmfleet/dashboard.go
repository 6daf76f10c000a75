package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"

	"github.com/urfave/cli/v2"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/dashboard"
	"github.com/vmfleet/vmfleet/pkg/home"
	"github.com/vmfleet/vmfleet/pkg/supervisor"
)

func dashboardFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "dashboard-listen", EnvVars: []string{"VMFLEET_DASHBOARD_LISTEN"}, Value: dashboard.DefaultListen,
			Usage: "serve the web dashboard on this address; off for none"},
		&cli.BoolFlag{Name: "dashboard-controls", EnvVars: []string{"VMFLEET_DASHBOARD_CONTROLS"},
			Usage: "let the dashboard scale, inject faults and send load (off: read-only, for shared hosts)"},
	}
}

// dashboardArgs passes the dashboard flags given to the supervisor on to
// its worker.
func dashboardArgs(c *cli.Context) []string {
	var args []string
	if c.IsSet("dashboard-listen") {
		args = append(args, "--dashboard-listen", c.String("dashboard-listen"))
	}
	if c.Bool("dashboard-controls") {
		args = append(args, "--dashboard-controls")
	}
	return args
}

// checkDashboardFlags refuses an address that cannot be listened on,
// before anything starts.
func checkDashboardFlags(c *cli.Context) error {
	if l := c.String("dashboard-listen"); l != "off" {
		if _, _, err := net.SplitHostPort(l); err != nil {
			return bad(fmt.Errorf("--dashboard-listen %q: give HOST:PORT, like %s, or off", l, dashboard.DefaultListen))
		}
	}
	return nil
}

// dashboardEndpoint listens for the page and reads (or makes) its token.
// A default address already taken is reported by info, not fatal, as the
// AWS endpoint's is.
func dashboardEndpoint(ctx context.Context, c *cli.Context, h home.Home, ls *supervisor.Listeners) (api.Dashboard, net.Listener, string, error) {
	ep := api.Dashboard{Controls: c.Bool("dashboard-controls"), TokenFile: h.DashboardToken()}
	addr := c.String("dashboard-listen")
	if addr == "off" {
		ep.Reason = "turned off (--dashboard-listen off)"
		return ep, nil, "", nil
	}
	gid, err := lookupGroup("vmfleet")
	if err != nil {
		gid = -1
	}
	token, err := dashboard.LoadOrCreateToken(h.DashboardToken(), gid)
	if err != nil {
		return ep, nil, "", err
	}
	ln, err := ls.Listen(ctx, addr)
	if err != nil {
		if c.IsSet("dashboard-listen") {
			return ep, nil, "", fmt.Errorf("--dashboard-listen %s: %w", addr, err)
		}
		ep.Reason = fmt.Sprintf("%s is taken (%v); choose another address with vmfleet daemon --dashboard-listen", addr, err)
		return ep, nil, "", nil
	}
	ep.URL = "http://" + ln.Addr().String() + "/"
	return ep, ln, token, nil
}

func dashboardCommand() *cli.Command {
	return &cli.Command{
		Name:  "dashboard",
		Usage: "print the web dashboard's address (with its token) and open it when a browser is at hand",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "kiosk", Usage: "the projector view: large tiles, no controls"},
			&cli.BoolFlag{Name: "no-open", Usage: "only print the address"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return bad(fmt.Errorf("dashboard: takes no arguments; use --kiosk for the projector view"))
			}
			in, err := daemonInfo(c)
			if err != nil {
				return err
			}
			d := in.Dashboard
			if d.URL == "" {
				return bad(fmt.Errorf("the daemon serves no dashboard: %s", d.Reason))
			}
			token, err := dashboard.ReadToken(d.TokenFile)
			if errors.Is(err, fs.ErrPermission) {
				return bad(fmt.Errorf("cannot read %s: add yourself to the vmfleet group (usermod -aG vmfleet $USER) or run as root", d.TokenFile))
			}
			if err != nil {
				return err
			}
			q := url.Values{"token": {token}}
			if c.Bool("kiosk") {
				q.Set("kiosk", "")
			}
			link := d.URL + "?" + q.Encode()
			fmt.Println(link)
			if !d.Controls {
				fmt.Fprintln(os.Stderr, "vmfleet: the dashboard is read-only; start the daemon with --dashboard-controls (or VMFLEET_DASHBOARD_CONTROLS=1) for its controls")
			}
			if !c.Bool("no-open") {
				openBrowser(link)
			}
			return nil
		},
	}
}

// dashboardLine is the page's line in vmfleet info.
func dashboardLine(d api.Dashboard) string {
	if d.URL == "" {
		return "not served: " + d.Reason
	}
	mode := "read-only (--dashboard-controls for controls)"
	if d.Controls {
		mode = "with controls"
	}
	return d.URL + ", " + mode + "; vmfleet dashboard prints it with its token"
}

// openBrowser opens link where a desktop session is at hand: $BROWSER,
// else xdg-open under a display. It never waits on the browser.
func openBrowser(link string) {
	cmd := os.Getenv("BROWSER")
	if cmd == "" {
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return
		}
		cmd = "xdg-open"
	}
	path, err := exec.LookPath(cmd)
	if err != nil {
		return
	}
	p := exec.Command(path, link)
	if p.Start() == nil {
		go p.Wait()
	}
}
