package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/vmfleet/vmfleet/pkg/controller"
	"github.com/vmfleet/vmfleet/pkg/fleetfile"
	"github.com/vmfleet/vmfleet/pkg/instance"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

func fileFlag() cli.Flag {
	return &cli.StringFlag{Name: "file", Aliases: []string{"f"}, Value: "fleet.yaml", Usage: "the fleet file"}
}

func bakeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "kernel-version", EnvVars: []string{"VMFLEET_KERNEL_VERSION"}, Usage: "guest kernel version"},
		&cli.StringFlag{Name: "init", EnvVars: []string{"VMFLEET_INIT"}, Usage: "path of vmfleet-init"},
	}
}

func upCommand() *cli.Command {
	return &cli.Command{
		Name:  "up",
		Usage: "bake what changed, boot every instance, start the balancers, wait until healthy",
		Flags: append([]cli.Flag{
			fileFlag(),
			&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "leave the controller running in the background and return once healthy"},
			&cli.DurationFlag{Name: "timeout", Value: 5 * time.Minute, Usage: "how long to wait for every instance to turn healthy"},
			&cli.Float64Flag{Name: "boot-cpus", Usage: "CPU caps of instances booting at once, summed (default: the number of CPUs)"},
		}, bakeFlags()...),
		Action: func(c *cli.Context) error {
			if c.Bool("detach") {
				return upDetached(c)
			}
			return runController(c, false)
		},
	}
}

// controllerCommand is the detached controller `up --detach` starts.
func controllerCommand() *cli.Command {
	return &cli.Command{
		Name:   "controller",
		Hidden: true,
		Flags:  append([]cli.Flag{fileFlag(), &cli.Float64Flag{Name: "boot-cpus"}}, bakeFlags()...),
		Action: func(c *cli.Context) error { return runController(c, true) },
	}
}

// runController runs a fleet's controller in this process. In the
// foreground it prints events, waits for health, and on Ctrl-C drains and
// removes the fleet. Detached, it runs until `down` (fleet removed) or
// SIGTERM (fleet left running for the next controller to adopt).
func runController(c *cli.Context, detached bool) error {
	fleet, err := fleetfile.Load(c.String("file"))
	if err != nil {
		return err
	}
	e, err := newEnv(c)
	if err != nil {
		return err
	}
	dir := controller.StateDir(e.home, fleet.Name)
	sock := filepath.Join(dir, controller.SocketName)
	if !detached {
		if done, err := reloadRunning(c, dir); done || err != nil {
			return err
		}
	}
	in, err := bakeInputs(c)
	if err != nil {
		return err
	}
	st, err := e.store()
	if err != nil {
		return err
	}
	hv, err := e.connect(c)
	if err != nil {
		return err
	}
	defer hv.Close()
	state, err := controller.ReadState(dir)
	if err != nil {
		return err
	}
	fileCounts := map[string]int{}
	for _, s := range fleet.Services {
		fileCounts[s.Name] = s.Instances
	}
	desired := state.DesiredFor(fileCounts)
	var server *controller.Server
	var printMu sync.Mutex
	ctrl := controller.New(controller.Options{
		Fleet: fleet, Images: st, Inputs: in, Instances: e.instances(hv), Log: e.log,
		BootCPUs: c.Float64("boot-cpus"), Listen: state.Listen, Desired: desired,
		OnChange: func(st controller.State) {
			st.PID = os.Getpid()
			if err := controller.WriteState(dir, &st); err != nil {
				e.log.Warn("save fleet state", "err", err)
			}
		},
		Observe: func(ev controller.Event) {
			if server != nil {
				server.Publish(ev)
			}
			printMu.Lock()
			fmt.Println(ev)
			printMu.Unlock()
		},
	})
	server = controller.NewServer(ctrl)
	if err := ctrl.Bake(c.Context); err != nil {
		return err
	}
	// The controller outlives Ctrl-C long enough to drain: its context is
	// not the command's.
	runCtx, stopRun := context.WithCancel(context.Background())
	defer stopRun()
	if err := ctrl.Listen(runCtx); err != nil {
		return err
	}
	if err := controller.WriteState(dir, &controller.State{Fleet: fleet.Name, File: fleet.File, PID: os.Getpid(),
		Listen: ctrl.Addresses(), Desired: desired, FileInstances: fileCounts}); err != nil {
		return err
	}
	serveCtx, stopServe := context.WithCancel(context.Background())
	served := make(chan struct{})
	defer func() {
		stopServe()
		<-served // the reply to a `down` gets out before the process ends
	}()
	go func() {
		defer close(served)
		if err := server.Serve(serveCtx, sock); err != nil {
			e.log.Warn("controller socket", "err", err)
		}
	}()
	runErr := make(chan error, 1)
	go func() { runErr <- ctrl.Run(runCtx) }()

	if detached {
		// SIGTERM: leave the fleet running; `down` ends Run itself.
		select {
		case <-c.Context.Done():
			stopRun()
			<-runErr
			return nil
		case err := <-runErr:
			if err == nil { // `down`: the fleet is gone
				os.RemoveAll(dir)
			}
			return err
		}
	}

	teardown := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		err := ctrl.Down(ctx)
		stopRun()
		<-runErr
		os.RemoveAll(dir)
		return err
	}
	if err := waitReady(c.Context, c.Duration("timeout"), ctrl.Status, runErr); err != nil {
		if errors.Is(err, context.Canceled) {
			return teardown()
		}
		printTails(ctrl.Status())
		if derr := teardown(); derr != nil {
			e.log.Warn("teardown", "err", derr)
		}
		return err
	}
	printUp(ctrl.Status())
	select {
	case <-c.Context.Done():
		return teardown()
	case err := <-runErr:
		if err == nil { // `vmfleet down` from elsewhere
			os.RemoveAll(dir)
		}
		return err
	}
}

// waitReady waits until every service has its desired instances in
// service, or fails after timeout.
func waitReady(ctx context.Context, timeout time.Duration, status func() controller.Status, runErr <-chan error) error {
	deadline := time.After(timeout)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if status().Ready() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-runErr:
			if err == nil {
				err = errors.New("the controller stopped")
			}
			return err
		case <-deadline:
			var slow []string
			for _, s := range status().Services {
				if n := countInService(s); n < s.Desired {
					slow = append(slow, fmt.Sprintf("%s (%d of %d healthy)", s.Name, n, s.Desired))
				}
			}
			return fmt.Errorf("not healthy within %s: %s; the consoles above say why", timeout, strings.Join(slow, ", "))
		case <-tick.C:
		}
	}
}

func countInService(s controller.ServiceStatus) int {
	n := 0
	for _, i := range s.Instances {
		if i.Phase == "in-service" && !i.Outdated {
			n++
		}
	}
	return n
}

// printTails shows the last console lines of every instance not in service.
func printTails(st controller.Status) {
	for _, s := range st.Services {
		for _, i := range s.Instances {
			if i.Phase == "in-service" || i.Console == "" {
				continue
			}
			fmt.Fprintf(os.Stderr, "--- console of %s/%s (%s, health %s):\n%s\n", s.Name, i.ID, i.Phase, i.Health, tail(i.Console, 20))
		}
	}
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func printUp(st controller.Status) {
	fmt.Printf("fleet %s is up:\n", st.Fleet)
	for _, s := range st.Services {
		fmt.Printf("  %-16s %d/%d healthy behind %s\n", s.Name, countInService(s), s.Desired, s.Listen)
	}
}

// upDetached checks the fleet file here (so a bad one fails in this
// terminal), starts the controller in the background and follows it until
// the fleet is healthy; an error the controller dies of (a bake, a busy
// address) is printed here too.
func upDetached(c *cli.Context) error {
	fleet, err := fleetfile.Load(c.String("file"))
	if err != nil {
		return err
	}
	e, err := newEnv(c)
	if err != nil {
		return err
	}
	dir := controller.StateDir(e.home, fleet.Name)
	if done, err := reloadRunning(c, dir); done || err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	logPath := filepath.Join(dir, "controller.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"--home", e.home, "--log-level", c.String("log-level")}
	if u := c.String("connect"); u != "" {
		args = append(args, "--connect", u)
	}
	abs, _ := filepath.Abs(c.String("file"))
	args = append(args, "controller", "--file", abs, "--boot-cpus", strconv.FormatFloat(c.Float64("boot-cpus"), 'f', -1, 64))
	if v := c.String("kernel-version"); v != "" {
		args = append(args, "--kernel-version", v)
	}
	if v := c.String("init"); v != "" {
		args = append(args, "--init", v)
	}
	cmd := exec.Command(self, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlives this terminal
	start := len(readFile(logPath))
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the controller: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	sock := filepath.Join(dir, controller.SocketName)
	var client *controller.Client
	for client == nil {
		select {
		case <-exited:
			msg := lastError(readFile(logPath)[start:])
			os.RemoveAll(dir)
			return errors.New(msg)
		case <-c.Context.Done():
			cmd.Process.Signal(syscall.SIGTERM)
			return c.Context.Err()
		case <-time.After(100 * time.Millisecond):
		}
		client, _ = controller.Dial(c.Context, sock)
	}
	// Follow the controller's events while waiting.
	evCtx, stopEvents := context.WithCancel(c.Context)
	go client.Events(evCtx, func(ev controller.Event) { fmt.Println(ev) })
	status := func() controller.Status {
		st, _ := client.Status(c.Context)
		return st
	}
	runErr := make(chan error, 1)
	go func() { runErr <- fmt.Errorf("the controller exited: %v", <-exited) }()
	err = waitReady(c.Context, c.Duration("timeout"), status, runErr)
	stopEvents()
	if err != nil {
		printTails(status())
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		client.Down(ctx)
		return err
	}
	printUp(status())
	fmt.Printf("controller pid %d, log %s\n", cmd.Process.Pid, logPath)
	return cmd.Process.Release()
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

// lastError finds the error a failed controller printed.
func lastError(log string) string {
	lines := strings.Split(strings.TrimSpace(log), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if msg, ok := strings.CutPrefix(lines[i], "vmfleet: "); ok {
			return msg
		}
	}
	return "the controller exited: " + strings.TrimSpace(log)
}

// reloadRunning hands the fleet file to a controller already running for
// this fleet and follows it until the fleet is healthy, so the balancers
// keep serving through a deploy. done is false when no controller runs,
// or when it had to be stopped because balancer settings changed (its
// instances stay for the new controller to adopt).
func reloadRunning(c *cli.Context, dir string) (done bool, err error) {
	client, err := controller.Dial(c.Context, filepath.Join(dir, controller.SocketName))
	if err != nil {
		return false, nil
	}
	abs, err := filepath.Abs(c.String("file"))
	if err != nil {
		return true, err
	}
	evCtx, stopEvents := context.WithCancel(c.Context)
	defer stopEvents()
	since := time.Now()
	go client.Events(evCtx, func(ev controller.Event) {
		if ev.Time.After(since) {
			fmt.Println(ev)
		}
	})
	if err := client.Reload(c.Context, abs); err != nil {
		if errors.Is(err, controller.ErrRestartNeeded) {
			fmt.Printf("%v: restarting the controller; instances keep running\n", err)
			return false, stopRunningController(c.Context, dir)
		}
		return true, err
	}
	status := func() controller.Status { st, _ := client.Status(c.Context); return st }
	if err := waitReady(c.Context, c.Duration("timeout"), status, nil); err != nil {
		printTails(status())
		return true, err
	}
	stopEvents()
	printUp(status())
	return true, nil
}

// stopRunningController stops a fleet's running controller without
// touching its instances, so a new `up` adopts them (and rolls out a
// changed image launch-before-terminate).
func stopRunningController(ctx context.Context, dir string) error {
	st, err := controller.ReadState(dir)
	if err != nil || st.PID == 0 {
		return nil
	}
	sock := filepath.Join(dir, controller.SocketName)
	if _, err := controller.Dial(ctx, sock); err != nil {
		return nil // nothing answers: a controller that was killed
	}
	p, err := os.FindProcess(st.PID)
	if err != nil {
		return nil
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return nil
	}
	for i := 0; i < 300; i++ {
		if _, err := controller.Dial(ctx, sock); err != nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the running controller (pid %d) did not stop; stop it with kill %d", st.PID, st.PID)
}

// fleetName is --fleet, else the name in the fleet file.
func fleetName(c *cli.Context) (string, error) {
	if n := c.String("fleet"); n != "" {
		return n, nil
	}
	f, err := fleetfile.Load(c.String("file"))
	if err != nil {
		return "", err
	}
	return f.Name, nil
}

func fleetFlags() []cli.Flag {
	return []cli.Flag{fileFlag(), &cli.StringFlag{Name: "fleet", Aliases: []string{"p"}, Usage: "the fleet's name (default: the one in the fleet file)"}}
}

func downCommand() *cli.Command {
	return &cli.Command{
		Name:  "down",
		Usage: "drain, stop and remove every instance of the fleet; nothing is left behind",
		Flags: append(fleetFlags(), &cli.DurationFlag{Name: "time", Aliases: []string{"t"}, Value: limits.DefaultStopTimeout, Usage: "grace period for each guest to shut down"}),
		Action: func(c *cli.Context) error {
			name, err := fleetName(c)
			if err != nil {
				return err
			}
			e, err := newEnv(c)
			if err != nil {
				return err
			}
			dir := controller.StateDir(e.home, name)
			if client, err := controller.Dial(c.Context, filepath.Join(dir, controller.SocketName)); err == nil {
				fmt.Printf("draining fleet %s through its controller\n", name)
				if err := client.Down(c.Context); err != nil {
					return fmt.Errorf("down %s: %w", name, err)
				}
				waitGone(filepath.Join(dir, controller.SocketName))
			}
			// Whatever no controller took down (it was killed, or never ran).
			hv, err := e.connect(c)
			if err != nil {
				return err
			}
			defer hv.Close()
			mgr := e.instances(hv)
			list, err := mgr.List(c.Context)
			if err != nil {
				return err
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			var failed []string
			for _, inst := range list {
				if inst.Fleet != name {
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := mgr.Terminate(c.Context, inst, c.Duration("time")); err != nil {
						mu.Lock()
						failed = append(failed, err.Error())
						mu.Unlock()
						return
					}
					fmt.Printf("removed %s/%s\n", inst.Service, inst.ID)
				}()
			}
			wg.Wait()
			if len(failed) > 0 {
				return errors.New(strings.Join(failed, "; "))
			}
			os.RemoveAll(dir)
			// Images that re-bakes left unnamed and nothing boots any more.
			if st, err := e.store(); err == nil {
				if rest, err := mgr.List(c.Context); err == nil {
					st.Prune(usedBy(rest))
				}
			}
			fmt.Printf("fleet %s is down\n", name)
			return nil
		},
	}
}

func waitGone(path string) {
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(path); os.IsNotExist(err) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func scaleCommand() *cli.Command {
	return &cli.Command{
		Name:      "scale",
		Usage:     "change the desired count of a running fleet's services",
		ArgsUsage: "SERVICE=N [SERVICE=N ...]",
		Flags: append(fleetFlags(),
			&cli.BoolFlag{Name: "wait", Usage: "wait until the new counts are healthy"},
			&cli.DurationFlag{Name: "timeout", Value: 5 * time.Minute, Usage: "with --wait, how long to wait"}),
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return errors.New("scale: give SERVICE=N, e.g. vmfleet scale web=3")
			}
			counts := map[string]int{}
			for _, a := range c.Args().Slice() {
				svc, n, ok := strings.Cut(a, "=")
				v, err := strconv.Atoi(n)
				if !ok || err != nil || v < 0 || svc == "" {
					return fmt.Errorf("scale %q: write SERVICE=N with N a whole number >= 0, e.g. web=3", a)
				}
				counts[svc] = v
			}
			name, err := fleetName(c)
			if err != nil {
				return err
			}
			e, err := newEnv(c)
			if err != nil {
				return err
			}
			client, err := controller.Dial(c.Context, filepath.Join(controller.StateDir(e.home, name), controller.SocketName))
			if err != nil {
				return fmt.Errorf("fleet %s: %w; start it with vmfleet up", name, controller.ErrNoController)
			}
			if _, err := client.Scale(c.Context, counts); err != nil {
				return err
			}
			names := make([]string, 0, len(counts))
			for s := range counts {
				names = append(names, s)
			}
			sort.Strings(names)
			for _, s := range names {
				fmt.Printf("%s: desired %d\n", s, counts[s])
			}
			if c.Bool("wait") {
				status := func() controller.Status { st, _ := client.Status(c.Context); return st }
				return waitReady(c.Context, c.Duration("timeout"), status, nil)
			}
			return nil
		},
	}
}

// psRow is an instance with what its controller knows of it.
type psRow struct {
	instance.Instance
	Health string `json:"health"`
	Phase  string `json:"phase,omitempty"`
}

// fleetStatus asks each fleet's controller, where one runs, for health.
func fleetStatus(ctx context.Context, home string, list []*instance.Instance) map[string]controller.InstanceStatus {
	out := map[string]controller.InstanceStatus{}
	asked := map[string]bool{}
	for _, i := range list {
		if i.Fleet == "" || asked[i.Fleet] {
			continue
		}
		asked[i.Fleet] = true
		client, err := controller.Dial(ctx, filepath.Join(controller.StateDir(home, i.Fleet), controller.SocketName))
		if err != nil {
			continue
		}
		st, err := client.Status(ctx)
		if err != nil {
			continue
		}
		for _, s := range st.Services {
			for _, is := range s.Instances {
				out[is.ID] = is
			}
		}
	}
	return out
}

func printPS(rows []psRow) error {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "FLEET\tSERVICE\tID\tSTATE\tHEALTH\tADDRESS\tIMAGE\tCREATED\tDOMAIN")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s ago\t%s\n", fleetLabel(r.Fleet), r.Service, r.ID, r.State, r.Health, r.Address, r.Image,
			humanSince(r.Created), r.Domain)
	}
	return w.Flush()
}
