package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writeFleet writes a two-service fleet: web depends on catalog.
func writeFleet(t *testing.T, catalogPort, webPort, catalogInstances int) string {
	t.Helper()
	dir := t.TempDir()
	health := `{type: http, path: /healthz, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}`
	yaml := fmt.Sprintf(`name: shop
time_scale: 0.1 # health checks every 1s (the floor), 0.8s timeout
services:
  catalog:
    image: {binary: %[1]s}
    command: ["/app/hello", "-listen", ":8080"]
    env: {GREETING: catalog}
    port: 8080
    instances: %[4]d
    cpu: 0.5
    memory: 128MiB
    health: %[5]s
    balancer: {listen: 127.0.0.1:%[2]d, deregistration_delay: 10s}
  web:
    image: {binary: %[1]s}
    command: ["/app/hello", "-listen", ":8080"]
    env: {GREETING: web}
    port: 8080
    instances: 1
    cpu: 0.5
    memory: 128MiB
    depends_on: [catalog]
    health: %[5]s
    balancer: {listen: 127.0.0.1:%[3]d, deregistration_delay: 10s}
`, bin("hello"), catalogPort, webPort, catalogInstances, health)
	p := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// load sends a steady stream of new connections (one request each) until
// stopped, and counts what failed.
type load struct {
	ok, failed atomic.Int64
	errs       sync.Map
	stop       chan struct{}
	done       chan struct{}
	run        chan func()
}

func startLoad(url string) *load {
	l := &load{stop: make(chan struct{}), done: make(chan struct{}), run: make(chan func())}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	go func() {
		defer close(l.done)
		for i := 0; i < 20000; i++ { // bounded, whatever happens
			select {
			case <-l.stop:
				return
			case f := <-l.run:
				f()
				continue
			case <-time.After(20 * time.Millisecond):
			}
			resp, err := client.Get(url)
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode != 200 {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			if err != nil {
				l.failed.Add(1)
				l.errs.Store(err.Error(), true)
				continue
			}
			l.ok.Add(1)
		}
	}()
	return l
}

// between runs f while no request is in flight, so what f breaks is
// seen only by the new connections that follow.
func (l *load) between(f func()) {
	done := make(chan struct{})
	l.run <- func() { f(); close(done) }
	<-done
}

func (l *load) finish(t *testing.T, what string) {
	t.Helper()
	close(l.stop)
	<-l.done
	var errs []string
	l.errs.Range(func(k, _ any) bool { errs = append(errs, k.(string)); return true })
	if l.failed.Load() > 0 || l.ok.Load() == 0 {
		t.Errorf("%s: %d requests failed, %d succeeded: %v", what, l.failed.Load(), l.ok.Load(), errs)
	} else {
		t.Logf("%s: %d requests, none failed", what, l.ok.Load())
	}
}

type psEntry struct {
	ID      string `json:"id"`
	Domain  string `json:"domain"`
	Service string `json:"service"`
	Fleet   string `json:"fleet"`
	State   string `json:"state"`
	Phase   string `json:"phase"`
	Health  string `json:"health"`
	Address string `json:"address"`
	Console string `json:"console"`
	Dir     string `json:"dir"`
}

func (e *testEnv) ps(fleet string) []psEntry {
	e.t.Helper()
	var rows []psEntry
	if err := json.Unmarshal([]byte(e.must("ps", "--json", "--fleet", fleet)), &rows); err != nil {
		e.t.Fatal(err)
	}
	return rows
}

func healthy(rows []psEntry, service string) []psEntry {
	var out []psEntry
	for _, r := range rows {
		if r.Service == service && r.Health == "healthy" && r.State == "running" {
			out = append(out, r)
		}
	}
	return out
}

// waitFor polls cond until it holds.
func (e *testEnv) waitFor(what string, limit time.Duration, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	e.t.Fatalf("timed out waiting for %s; ps:\n%s\ndaemon log:\n%s", what, e.must("ps"), tail(filepath.Join(e.home, "daemon.log"), 30))
}

// tail is the last n lines of a file, for failure messages.
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

func fetch(url string) (string, error) {
	// A new connection each time, so the balancer picks again.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b)), err
}

// One fleet, driven through the life a fleet has: up, traffic, failures,
// scaling, a controller restart, down.
func TestFleetLifecycle(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	catalogPort, webPort := freePort(t), freePort(t)
	file := writeFleet(t, catalogPort, webPort, 3)
	catalog := fmt.Sprintf("http://127.0.0.1:%d", catalogPort)
	web := fmt.Sprintf("http://127.0.0.1:%d", webPort)
	t.Cleanup(func() { e.vmfleet("down", "-f", file) })

	out := e.must("up", "-f", file, "--detach", "--wait-timeout", "4m")
	if !strings.Contains(out, "fleet shop is up") {
		t.Fatalf("up said:\n%s", out)
	}

	t.Run("round robin over the three catalog instances", func(t *testing.T) {
		rows := healthy(e.ps("shop"), "catalog")
		if len(rows) != 3 {
			t.Fatalf("%d healthy catalog instances, want 3: %+v", len(rows), rows)
		}
		var seen []string
		for i := 0; i < 6; i++ {
			body, err := fetch(catalog + "/")
			if err != nil {
				t.Fatal(err)
			}
			id := body[strings.LastIndex(body, " ")+1:]
			seen = append(seen, id)
		}
		distinct := map[string]bool{}
		for i, id := range seen[:3] {
			distinct[id] = true
			if seen[i+3] != id {
				t.Errorf("not in turn: %v", seen)
			}
		}
		if len(distinct) != 3 {
			t.Errorf("want 3 distinct instances in turn, got %v", seen)
		}
	})

	t.Run("web reaches catalog through its discovery address", func(t *testing.T) {
		env, err := fetch(web + "/env")
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		json.Unmarshal([]byte(env), &m)
		want := fmt.Sprintf("10.0.2.2:%d", catalogPort)
		if m["CATALOG_ADDR"] != want {
			t.Fatalf("CATALOG_ADDR=%q, want %q", m["CATALOG_ADDR"], want)
		}
		body, err := fetch(web + "/call?url=http://" + want + "/")
		if err != nil || !strings.HasPrefix(body, "catalog from catalog instance i-") {
			t.Fatalf("web calling catalog: %q %v", body, err)
		}
	})

	t.Run("logs of a service are prefixed per instance", func(t *testing.T) {
		logs := e.must("logs", "--fleet", "shop", "catalog")
		if n := strings.Count(logs, "| vmfleet-init: ready"); n != 3 {
			t.Errorf("want the 3 instances' boot lines, got %d:\n%s", n, logs)
		}
	})

	t.Run("logs -f follows every instance of a service", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		out, _ := exec.CommandContext(ctx, bin("vmfleet"), "--home", e.home, "logs", "-f", "--fleet", "shop", "catalog").Output()
		if n := strings.Count(string(out), "| vmfleet-init: ready"); n != 3 {
			t.Errorf("logs -f printed %d instances' boot lines, want 3:\n%s", n, out)
		}
	})

	t.Run("kill -9 of an instance loses no request and it is replaced", func(t *testing.T) {
		victim := healthy(e.ps("shop"), "catalog")[0]
		l := startLoad(catalog + "/")
		time.Sleep(500 * time.Millisecond)
		pid, err := os.ReadFile("/var/run/libvirt/qemu/" + victim.Domain + ".pid")
		if err != nil {
			t.Fatal(err)
		}
		p, _ := strconv.Atoi(strings.TrimSpace(string(pid)))
		if err := syscall.Kill(p, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		e.waitFor("a replacement", 2*time.Minute, func() bool {
			rows := healthy(e.ps("shop"), "catalog")
			for _, r := range rows {
				if r.ID == victim.ID {
					return false
				}
			}
			return len(rows) == 3
		})
		l.finish(t, "during kill -9 and replacement")
	})

	t.Run("an instance failing its health check is replaced", func(t *testing.T) {
		victim := healthy(e.ps("shop"), "catalog")[0]
		l := startLoad(catalog + "/")
		if _, err := fetch("http://" + victim.Address + "/sick"); err != nil {
			t.Fatal(err)
		}
		e.waitFor("the sick instance replaced", 2*time.Minute, func() bool {
			rows := healthy(e.ps("shop"), "catalog")
			for _, r := range e.ps("shop") {
				if r.ID == victim.ID {
					return false
				}
			}
			return len(rows) == 3
		})
		l.finish(t, "during health-check replacement")
	})

	t.Run("scale 3 to 5 to 2 loses no request", func(t *testing.T) {
		l := startLoad(catalog + "/")
		e.must("scale", "-f", file, "catalog=5", "--wait", "--wait-timeout", "3m")
		if n := len(healthy(e.ps("shop"), "catalog")); n != 5 {
			t.Errorf("after scale to 5: %d healthy", n)
		}
		e.must("scale", "-f", file, "catalog=2")
		e.waitFor("scale-in to 2", 2*time.Minute, func() bool {
			n := 0
			for _, r := range e.ps("shop") {
				if r.Service == "catalog" {
					n++
				}
			}
			return n == 2
		})
		l.finish(t, "during scale 3->5->2")
	})

	t.Run("a killed daemon is replaced by one that adopts the fleet behind the same sockets", func(t *testing.T) {
		before := domains(e.ps("shop"))
		var info struct {
			PID        int `json:"pid"`
			Supervisor int `json:"supervisor_pid"`
		}
		jsonDecode(t, e.must("info", "--json"), &info)
		if info.PID == 0 || info.Supervisor == 0 || info.PID == info.Supervisor {
			t.Fatalf("info: %+v", info)
		}
		l := startLoad(catalog + "/")
		time.Sleep(500 * time.Millisecond)
		// Killed between two requests: a connection in flight dies with
		// the process that copies its bytes, but no new one may fail.
		l.between(func() { syscall.Kill(info.PID, syscall.SIGKILL) })
		e.waitFor("the old daemon to die", 30*time.Second, func() bool { return syscall.Kill(info.PID, 0) != nil })
		// New connections are served again with no command from us.
		e.waitFor("the balancer to serve again", 10*time.Second, func() bool {
			body, err := fetch(catalog + "/")
			return err == nil && strings.HasPrefix(body, "catalog from")
		})
		time.Sleep(2 * time.Second)
		l.finish(t, "through a kill -9 of the daemon")
		var now struct {
			PID int `json:"pid"`
		}
		jsonDecode(t, e.must("info", "--json"), &now)
		if now.PID == info.PID {
			t.Errorf("the daemon pid did not change: %d", now.PID)
		}
		if after := domains(e.ps("shop")); strings.Join(after, ",") != strings.Join(before, ",") {
			t.Errorf("domains changed across the restart:\n%v\n%v", before, after)
		}
		out := e.must("up", "-f", file, "--detach")
		if !strings.Contains(out, "nothing to change") {
			t.Errorf("up after the restart changed something:\n%s", out)
		}
	})

	t.Run("an upgrade (SIGHUP to the supervisor) replaces the daemon and fails no request", func(t *testing.T) {
		var info struct {
			PID        int `json:"pid"`
			Supervisor int `json:"supervisor_pid"`
		}
		jsonDecode(t, e.must("info", "--json"), &info)
		l := startLoad(catalog + "/")
		time.Sleep(500 * time.Millisecond)
		// Unlike a crash, the old daemon finishes what is in flight, so
		// the signal may come at any moment.
		syscall.Kill(info.Supervisor, syscall.SIGHUP)
		e.waitFor("a new daemon", 30*time.Second, func() bool {
			var now struct {
				PID int `json:"pid"`
			}
			r := e.vmfleet("info", "--json")
			return r.code == 0 && json.Unmarshal([]byte(r.stdout), &now) == nil && now.PID != 0 && now.PID != info.PID
		})
		time.Sleep(2 * time.Second)
		l.finish(t, "through an upgrade of the daemon")
	})

	t.Run("a changed image rolls out launch-before-terminate without a failed request", func(t *testing.T) {
		before := map[string]bool{}
		for _, r := range e.ps("shop") {
			if r.Service == "catalog" {
				before[r.ID] = true
			}
		}
		data, _ := os.ReadFile(file)
		os.WriteFile(file, []byte(strings.Replace(string(data), "GREETING: catalog}", "GREETING: catalog-v2}", 1)), 0o644)
		l := startLoad(catalog + "/")
		out := e.must("up", "-f", file, "--detach")
		if !strings.Contains(out, "baked shop-catalog") {
			t.Errorf("the changed service was not baked again:\n%s", out)
		}
		e.waitFor("the old instances retired", 2*time.Minute, func() bool {
			rows := e.ps("shop")
			n := 0
			for _, r := range rows {
				if r.Service == "catalog" {
					if before[r.ID] {
						return false
					}
					n++
				}
			}
			return n == len(before) && len(healthy(rows, "catalog")) == n
		})
		l.finish(t, "during the roll-out")
		for i := 0; i < 4; i++ {
			if body, _ := fetch(catalog + "/"); !strings.HasPrefix(body, "catalog-v2 from") {
				t.Errorf("after the roll-out an old instance answered: %q", body)
			}
		}
	})

	t.Run("down leaves nothing behind", func(t *testing.T) {
		e.must("down", "-f", file)
		e.assertNothingLeft()
		for _, port := range []int{catalogPort, webPort} {
			if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
				c.Close()
				t.Errorf("balancer port %d still listening after down", port)
			}
		}
		e.assertNoFleet("shop")
	})
}

func TestForegroundUpDrainsAndRemovesTheFleetOnCtrlC(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	file := writeFleet(t, freePort(t), freePort(t), 1)
	cmd := exec.Command(bin("vmfleet"), "--home", e.home, "up", "-f", file)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	up := make(chan string, 1)
	go func() {
		var seen strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := out.Read(buf)
			seen.Write(buf[:n])
			if strings.Contains(seen.String(), "fleet shop is up") {
				up <- seen.String()
				io.Copy(io.Discard, out)
				return
			}
			if err != nil {
				up <- seen.String()
				return
			}
		}
	}()
	select {
	case s := <-up:
		if !strings.Contains(s, "fleet shop is up") {
			t.Fatalf("up ended before the fleet was up:\n%s", s)
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("fleet never came up")
	}
	if n := len(e.instances()); n != 2 {
		t.Fatalf("%d instances running, want 2", n)
	}
	cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("up after Ctrl-C: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("up did not finish after Ctrl-C")
	}
	e.assertNothingLeft()
}

// assertNoFleet checks that the daemon knows no fleet by that name and
// keeps no record of it.
func (e *testEnv) assertNoFleet(name string) {
	e.t.Helper()
	if out := e.must("ls", "--json"); strings.Contains(out, `"name":"`+name+`"`) {
		e.t.Errorf("fleet %s still listed: %s", name, out)
	}
	if _, err := os.Stat(filepath.Join(e.home, "state", "fleet-"+name+".json")); !os.IsNotExist(err) {
		e.t.Errorf("fleet %s's record left behind: %v", name, err)
	}
}

func domains(rows []psEntry) []string {
	return column(rows, func(r psEntry) string { return r.Domain })
}

// column is one field of every row, sorted.
func column(rows []psEntry, field func(psEntry) string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, field(r))
	}
	sort.Strings(out)
	return out
}

func TestUpFailsWithTheConsoleOfAnInstanceThatNeverTurnsHealthy(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	file := writeFleet(t, freePort(t), freePort(t), 1)
	data, _ := os.ReadFile(file)
	// catalog listens on another port than the one checked and balanced.
	broken := strings.Replace(string(data), `"-listen", ":8080"]`, `"-listen", ":9090"]`, 1)
	os.WriteFile(file, []byte(broken), 0o644)
	r := e.vmfleet("up", "-f", file, "--detach", "--wait-timeout", "25s")
	if r.code == 0 {
		t.Fatalf("up succeeded with a service that never turns healthy:\n%s", r.stdout)
	}
	for _, want := range []string{"not in service within 25s: catalog (0 of 1 in service)", "--- console of catalog/", "vmfleet-init: ready"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	e.assertNothingLeft()
}

func TestUpWithABadFleetFileFailsInOneLineAndLeavesNothing(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "fleet.yaml")
	os.WriteFile(bad, []byte("name: shop\nservices:\n  web:\n    image: {binary: ./x}\n    command: [/x]\n    port: 8080\n    memory: 256 megs\n"), 0o644)
	r := e.vmfleet("up", "-f", bad, "--detach")
	if r.code == 0 || !strings.Contains(r.stderr, "fleet.yaml:7:") || !strings.Contains(r.stderr, "write it like 256MiB") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("want one line naming fleet.yaml:7 and the fix, got exit %d: %q", r.code, r.stderr)
	}
	e.assertNothingLeft()
}

func TestUpWithABalancerAddressInUseFailsAndLeavesNothing(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	file := writeFleet(t, busy.Addr().(*net.TCPAddr).Port, freePort(t), 1)
	for _, detach := range []bool{false, true} {
		args := []string{"up", "-f", file}
		if detach {
			args = append(args, "--detach")
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		r := e.vmfleet(args...)
		cancel()
		_ = ctx
		if r.code == 0 || !strings.Contains(r.stderr, "address already in use") || !strings.Contains(r.stderr, "change balancer.listen") {
			t.Errorf("up %v: want an address-in-use error with the fix, got exit %d: %q", args, r.code, r.stderr)
		}
		e.assertNothingLeft()
		e.assertNoFleet("shop")
	}
}
