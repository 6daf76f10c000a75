package main

// The integration tests drive the real vmfleet binary against a real
// libvirtd and real VMs, as a user or a CI script would. `make test` sets
// VMFLEET_INTEGRATION=1, which turns a missing libvirtd into a failure;
// without it (a bare `go test ./...` on a laptop) they are skipped.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/firewall"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/instance"
)

var (
	binDir      string // vmfleet, vmfleet-init and hello, built once
	integration string // why integration tests cannot run, or ""
)

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "vmfleet-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binDir = dir
		if err := os.Chmod(dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for _, pkg := range []string{"./cmd/vmfleet", "./cmd/vmfleet-init", "./testdata/hello", "./testdata/imdsclient", "./testdata/loadgen"} {
			cmd := exec.Command("go", "build", "-o", dir, pkg)
			cmd.Dir = moduleRoot()
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, out)
				return 1
			}
		}
		integration = libvirtReachable()
		if integration == "" {
			removeStaleInstances()
		}
		// No spares but where a test asks (testEnv.env): the others
		// count the domains and directories a home holds, and a spare
		// made behind each repeated run would cost the suite CPU.
		os.Setenv("VMFLEET_SPARES", "0")
		// Each test's daemon serves AWS on a port of its own: 4566, the
		// default, is one port for all of them.
		os.Setenv("VMFLEET_AWS_LISTEN", "127.0.0.1:0")
		return m.Run()
	}()
	os.Exit(code)
}

func moduleRoot() string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		panic(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func libvirtReachable() string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hv, err := hypervisor.Connect(ctx, hypervisor.ChooseURI("", os.Getenv))
	if err != nil {
		return err.Error()
	}
	hv.Close()
	return ""
}

// removeStaleInstances destroys what an earlier, killed test run left:
// vmfleet domains whose instance directory is gone.
func removeStaleInstances() {
	ctx := context.Background()
	hv, err := hypervisor.Connect(ctx, hypervisor.ChooseURI("", os.Getenv))
	if err != nil {
		return
	}
	defer hv.Close()
	mgr := &instance.Manager{HV: hv}
	list, _ := mgr.List(ctx)
	spares, _ := mgr.Spares(ctx)
	for _, i := range append(list, spares...) {
		if _, err := os.Stat(i.Dir); os.IsNotExist(err) && strings.Contains(i.Dir, "vmfleet-test-") {
			_ = hv.Destroy(ctx, i.Domain)
			_ = hv.Undefine(ctx, i.Domain)
		}
	}
}

// needLibvirt skips (or, under make test, fails) a test that needs VMs.
func needLibvirt(t *testing.T) {
	t.Helper()
	if integration == "" {
		return
	}
	if os.Getenv("VMFLEET_INTEGRATION") != "" {
		t.Fatalf("integration tests need libvirtd: %s", integration)
	}
	t.Skipf("no libvirtd (%s); make test sets it up", integration)
}

// testEnv is one test's vmfleet home: its own image store and instances.
type testEnv struct {
	t    *testing.T
	home string
	// env is added to every vmfleet's environment, and so the daemon's.
	env []string
}

// on is e for a subtest: its failures are t's.
func (e *testEnv) on(t *testing.T) *testEnv {
	c := *e
	c.t = t
	return &c
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	// Not t.TempDir: QEMU runs as libvirt-qemu and must reach the files.
	home, err := os.MkdirTemp("", "vmfleet-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(home, 0o755); err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, home: home}
	t.Cleanup(func() {
		// Take down what a failed test left running, stop the home's
		// daemon, then remove the home.
		var fleets []struct{ Name string }
		if r := e.vmfleet("ls", "--json"); r.code == 0 {
			json.Unmarshal([]byte(r.stdout), &fleets)
		}
		for _, f := range fleets {
			e.vmfleet("down", "--fleet", f.Name, "-t", "0s")
		}
		for _, i := range e.instances() {
			e.vmfleet("rm", "-f", i.ID)
		}
		e.vmfleet("daemon", "stop")
		os.RemoveAll(home)
	})
	return e
}

type result struct {
	stdout, stderr string
	code           int
}

// execVmfleet runs the built vmfleet with a home, for benchmarks too.
func execVmfleet(home string, args ...string) (string, error) {
	return execVmfleetEnv(home, nil, args...)
}

// execVmfleetEnv is execVmfleet with extra environment, for the CLI and
// the daemon it starts.
func execVmfleetEnv(home string, env []string, args ...string) (string, error) {
	return execVmfleetFor(5*time.Minute, home, env, args...)
}

// execVmfleetFor is execVmfleetEnv killed after limit instead.
func execVmfleetFor(limit time.Duration, home string, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "vmfleet"), append([]string{"--home", home}, args...)...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func jsonDecode(b testing.TB, s string, v any) {
	b.Helper()
	if err := json.Unmarshal([]byte(s[strings.IndexAny(s, "{["):]), v); err != nil {
		b.Fatalf("decode %q: %v", s, err)
	}
}

func (e *testEnv) vmfleet(args ...string) result {
	e.t.Helper()
	return e.vmfleetIn("", args...)
}

// vmfleetIn runs vmfleet with stdin.
func (e *testEnv) vmfleetIn(stdin string, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "vmfleet"), append([]string{"--home", e.home}, args...)...)
	var out, errb bytes.Buffer
	if e.env != nil {
		cmd.Env = append(os.Environ(), e.env...)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("vmfleet %v: %v", args, err)
	}
	return r
}

// must runs vmfleet and fails the test unless it succeeds.
func (e *testEnv) must(args ...string) string {
	e.t.Helper()
	r := e.vmfleet(args...)
	if r.code != 0 {
		e.t.Fatalf("vmfleet %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// instances lists this testEnv's instances (other tests' are not ours).
func (e *testEnv) instances() []instance.Instance {
	e.t.Helper()
	r := e.vmfleet("ps", "--json")
	if r.code != 0 {
		return nil
	}
	var all, mine []instance.Instance
	if err := json.Unmarshal([]byte(r.stdout), &all); err != nil {
		e.t.Fatalf("ps --json: %v: %s", err, r.stdout)
	}
	for _, i := range all {
		if strings.HasPrefix(i.Dir, e.home+"/") {
			mine = append(mine, i)
		}
	}
	return mine
}

func (e *testEnv) run(args ...string) instance.Instance {
	e.t.Helper()
	var inst instance.Instance
	out := e.must(append([]string{"run", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &inst); err != nil {
		e.t.Fatalf("run --json: %v: %s", err, out)
	}
	return inst
}

// get waits for an HTTP answer from url; guests under TCG take seconds
// to boot, so it polls.
func (e *testEnv) get(url string, inst instance.Instance) string {
	e.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return string(b)
			}
			err = fmt.Errorf("status %s: %s", resp.Status, b)
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	console, _ := os.ReadFile(inst.Console)
	e.t.Fatalf("no answer from %s: %v\nconsole:\n%s", url, last, console)
	return ""
}

// assertNothingLeft checks the user-visible promise: no domain, no
// overlay or log, no half-baked image.
func (e *testEnv) assertNothingLeft() {
	e.t.Helper()
	if left := e.instances(); len(left) > 0 {
		e.t.Errorf("instances left behind: %+v", left)
	}
	for _, d := range []string{"instances", "tmp"} {
		entries, _ := os.ReadDir(filepath.Join(e.home, d))
		if len(entries) > 0 {
			var names []string
			for _, en := range entries {
				names = append(names, en.Name())
			}
			e.t.Errorf("%s/ not empty: %v", d, names)
		}
	}
	// A test running beside (t.Parallel) may be between removing a
	// domain and its rules: a stray rule is one that stays.
	if left := strayFirewallRules(e.t); len(left) > 0 {
		time.Sleep(3 * time.Second)
		now := strayFirewallRules(e.t)
		if still := slices.DeleteFunc(left, func(r string) bool { return !slices.Contains(now, r) }); len(still) > 0 {
			e.t.Errorf("firewall rules of domains libvirt no longer knows: %q", still)
		}
	}
}

// strayFirewallRules are the guests' firewall rules whose domain libvirt
// no longer knows: each holds a dead QEMU's cgroup.
func strayFirewallRules(t testing.TB) []string {
	t.Helper()
	out, err := exec.Command("virsh", "list", "--all", "--name").Output()
	if err != nil {
		t.Fatalf("virsh list: %v", err)
	}
	known := map[string]bool{}
	for _, name := range strings.Fields(string(out)) {
		known[name] = true
	}
	var stray []string
	for _, chain := range []string{firewall.AllowChain, firewall.DenyChain} {
		rules, _ := exec.Command("iptables", "-w", "-S", chain).Output()
		for _, line := range strings.Split(string(rules), "\n") {
			_, tag, ok := strings.Cut(line, `--comment "vmfleet:`)
			if domain, _, _ := strings.Cut(tag, `"`); ok && !known[domain] {
				stray = append(stray, line)
			}
		}
	}
	return stray
}

func bin(name string) string { return filepath.Join(binDir, name) }
