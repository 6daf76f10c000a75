package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/firewall"
)

// hostServer serves one page on the host (its loopback unless said
// otherwise) and counts the connections it accepted.
type hostServer struct {
	port     int
	accepted atomic.Int64
}

func newHostServer(t *testing.T, page string) *hostServer {
	return newHostServerOn(t, "127.0.0.1", page)
}

func newHostServerOn(t *testing.T, ip, page string) *hostServer {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	hs := &hostServer{port: ln.Addr().(*net.TCPAddr).Port}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, page) }),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				hs.accepted.Add(1)
			}
		}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return hs
}

// shellFleet writes a fleet of busybox services from one rootfs: db; web,
// which depends on db and may reach hostPort on the host; and open, which
// opts into the internet.
func shellFleet(t *testing.T, hostPort int) string {
	t.Helper()
	tarball := busyboxTar(t, "the db's page\n")
	httpd := `[/bin/busybox, httpd, -f, -p, "8080", -h, /www]`
	check := `{type: tcp, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}`
	file := fleetFile(t, fmt.Sprintf(`name: iso
time_scale: 0.1
services:
  db:
    image: {rootfs: %[1]s}
    command: %[2]s
    port: 8080
    memory: 128MiB
    health: %[3]s
  web:
    image: {rootfs: %[1]s}
    command: %[2]s
    port: 8080
    memory: 128MiB
    depends_on: [db]
    egress: {host_ports: [%[4]d]}
    env_file: web.env
    health: %[3]s
  open:
    image: {rootfs: %[1]s}
    command: %[2]s
    port: 8080
    memory: 128MiB
    egress: {internet: true}
    health: %[3]s
`, tarball, httpd, check, hostPort))
	os.WriteFile(filepath.Join(filepath.Dir(file), "web.env"), []byte("# from env_file, as compose reads it\nGREETING=\"hello from env_file\"\n"), 0o644)
	return file
}

// fleetFile writes a fleet file into a directory of its own.
func fleetFile(t testing.TB, yaml string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// inGuest runs a shell command inside an instance with vmfleet exec.
func (e *testEnv) inGuest(id, script string) result {
	e.t.Helper()
	return e.vmfleet("exec", id, "--", "/bin/sh", "-c", script)
}

// fetchFrom is a shell command that sends one HTTP request to addr from
// inside the guest; its status is nc's.
func fetchFrom(addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	return fmt.Sprintf(`printf 'GET /index.html HTTP/1.0\r\n\r\n' | busybox nc -w 5 %s %s`, host, port)
}

func TestGuestsReachOnlyTheirDependenciesAndOptedInHostPorts(t *testing.T) {
	needLibvirt(t)
	// A fresh machine: its first daemon makes the chains as it launches
	// the first guest with an open network.
	removeGuestFirewall(t)
	e := newTestEnv(t)
	secret := newHostServer(t, "a host service nobody opted into\n")
	allowed := newHostServer(t, "a host database web opted into\n")
	file := shellFleet(t, allowed.port)
	e.must("up", "-f", file, "--detach", "--wait-timeout", "4m")
	rows := e.ps("iso")
	db, web, open := healthy(rows, "db"), healthy(rows, "web"), healthy(rows, "open")
	if len(db) != 1 || len(web) != 1 || len(open) != 1 {
		t.Fatalf("want one db, one web and one open in service: %+v", rows)
	}
	_, dbBalancerPort, _ := net.SplitHostPort(fleetListen(t, e, "iso", "db"))
	_, peerPort, _ := net.SplitHostPort(db[0].Address)

	t.Run("its dependency's balancer, at the discovery address", func(t *testing.T) {
		env := e.inGuest(web[0].ID, "echo $DB_ADDR")
		addr := strings.TrimSpace(env.stdout)
		if addr != "10.0.2.2:"+dbBalancerPort {
			t.Fatalf("DB_ADDR=%q, want 10.0.2.2:%s", addr, dbBalancerPort)
		}
		if r := e.inGuest(web[0].ID, fetchFrom(addr)); r.code != 0 || !strings.Contains(r.stdout, "the db's page") {
			t.Fatalf("dependency through %s: exit %d, %q %s", addr, r.code, r.stdout, r.stderr)
		}
	})
	t.Run("each guest admitted once, by its launch, on a fresh machine", func(t *testing.T) {
		log, err := os.ReadFile(filepath.Join(e.home, "daemon.log"))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(log), "\n") {
			if strings.Contains(line, "putting them back") || strings.Contains(line, "incompatible") || strings.Contains(line, "check the guests' firewall rules") {
				t.Errorf("daemon log: %s", line)
			}
		}
	})
	t.Run("a host port it opted into", func(t *testing.T) {
		r := e.inGuest(web[0].ID, fetchFrom(fmt.Sprintf("10.0.2.2:%d", allowed.port)))
		if r.code != 0 || !strings.Contains(r.stdout, "web opted into") {
			t.Fatalf("egress host port: exit %d, %q %s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("no other host loopback port", func(t *testing.T) {
		for _, addr := range []string{
			fmt.Sprintf("10.0.2.2:%d", secret.port),  // the host's loopback, where its dependency is
			fmt.Sprintf("10.0.2.77:%d", secret.port), // another address of its network
		} {
			if r := e.inGuest(web[0].ID, fetchFrom(addr)); r.code == 0 || strings.Contains(r.stdout, "nobody opted into") {
				t.Errorf("%s from the guest: exit %d, read %q", addr, r.code, r.stdout)
			}
		}
		if n := secret.accepted.Load(); n != 0 {
			t.Errorf("the host service accepted %d connections from the guest", n)
		}
	})
	t.Run("no other instance's forward", func(t *testing.T) {
		if r := e.inGuest(web[0].ID, fetchFrom("10.0.2.2:"+peerPort)); r.code == 0 || strings.Contains(r.stdout, "the db's page") {
			t.Errorf("db's forward 127.0.0.1:%s from web's guest: exit %d, read %q", peerPort, r.code, r.stdout)
		}
	})
	t.Run("db reaches nothing on the host at all", func(t *testing.T) {
		if r := e.inGuest(db[0].ID, fetchFrom(fmt.Sprintf("10.0.2.2:%d", allowed.port))); r.code == 0 {
			t.Errorf("db, which opted into nothing, read %q from web's host port", r.stdout)
		}
	})
	// The host's own address on its network stands for the outside: a
	// connection to it does not leave the machine.
	outside := newHostServerOn(t, hostAddress(t), "the outside\n")
	outsideAddr := net.JoinHostPort(hostAddress(t), fmt.Sprint(outside.port))
	t.Run("with internet opted into, the outside", func(t *testing.T) {
		if r := e.inGuest(open[0].ID, fetchFrom(outsideAddr)); r.code != 0 || !strings.Contains(r.stdout, "the outside") {
			t.Fatalf("%s from open's guest: exit %d, %q %s", outsideAddr, r.code, r.stdout, r.stderr)
		}
		if r := e.inGuest(web[0].ID, fetchFrom(outsideAddr)); r.code == 0 {
			t.Errorf("web, which did not opt into the internet, read %q from %s", r.stdout, outsideAddr)
		}
	})
	t.Run("with internet opted into, still no host loopback port or forward", func(t *testing.T) {
		before := secret.accepted.Load()
		for _, addr := range []string{
			fmt.Sprintf("10.0.2.2:%d", secret.port),  // QEMU's alias of the host's loopback
			fmt.Sprintf("10.0.2.77:%d", secret.port), // another address of that network
			"10.0.2.2:" + peerPort,                   // db's forward
		} {
			if r := e.inGuest(open[0].ID, fetchFrom(addr)); r.code == 0 || strings.Contains(r.stdout, "nobody opted into") || strings.Contains(r.stdout, "the db's page") {
				t.Errorf("%s from open's guest: exit %d, read %q", addr, r.code, r.stdout)
			}
		}
		if n := secret.accepted.Load() - before; n != 0 {
			t.Errorf("the host's loopback service accepted %d connections from the open guest", n)
		}
	})
	// A firewall reloaded by another tool takes the guests' rules: web,
	// cut off its dependency, would reach the outside too.
	flush := func(t *testing.T, dep string, cutOff bool) {
		for _, chain := range []string{firewall.AllowChain, firewall.DenyChain} {
			tool(t, "iptables", "-w", "-F", chain)
		}
		if r := e.inGuest(web[0].ID, dep); cutOff && r.code == 0 {
			t.Fatalf("web reached its dependency with its rules flushed: the test proves nothing")
		}
	}
	restored := func(t *testing.T, dep string) {
		e.waitFor("web reaching its dependency again", 2*time.Minute, func() bool {
			r := e.inGuest(web[0].ID, dep)
			return r.code == 0 && strings.Contains(r.stdout, "the db's page")
		})
		if r := e.inGuest(web[0].ID, fetchFrom(outsideAddr)); r.code == 0 {
			t.Errorf("web, without internet, read %q from %s after its rules came back", r.stdout, outsideAddr)
		}
	}
	dep := strings.Replace(fetchFrom(fleetListen(t, e, "iso", "db")), "127.0.0.1", "10.0.2.2", 1)
	t.Run("the daemon puts back the rules a flush took", func(t *testing.T) {
		flush(t, dep, true)
		restored(t, dep)
	})
	t.Run("so does the next daemon, of a flush while none ran", func(t *testing.T) {
		e.must("daemon", "stop")
		// The exec that looks starts the next daemon, which may have
		// mended it already.
		flush(t, dep, false)
		restored(t, dep)
	})
	t.Run("exec passes the exit status through", func(t *testing.T) {
		if r := e.inGuest(web[0].ID, "exit 3"); r.code != 3 {
			t.Errorf("exit 3 came back as %d", r.code)
		}
		if r := e.vmfleet("exec", web[0].ID, "--", "/no/such/program"); r.code != 127 || !strings.Contains(r.stderr, "/no/such/program") {
			t.Errorf("a missing program: exit %d, %q (want 127 naming it)", r.code, r.stderr)
		}
	})
	t.Run("exec streams stdin, stdout and stderr apart, with the service's environment", func(t *testing.T) {
		r := e.vmfleetIn("line one\nline two\n", "exec", "-i", web[0].ID, "--", "/bin/sh", "-c", "busybox wc -l; echo $GREETING; echo to-stderr >&2")
		if r.code != 0 || strings.Fields(r.stdout)[0] != "2" || !strings.Contains(r.stdout, "hello from env_file") {
			t.Errorf("stdin and env: exit %d, stdout %q", r.code, r.stdout)
		}
		if strings.TrimSpace(r.stderr) != "to-stderr" || strings.Contains(r.stdout, "to-stderr") {
			t.Errorf("stderr %q, stdout %q: want them apart", r.stderr, r.stdout)
		}
	})
	t.Run("the env's values stay in the guest, not in the instance's files", func(t *testing.T) {
		var inst string
		for _, i := range e.instances() {
			if i.ID == web[0].ID {
				inst = i.Dir
			}
		}
		filepath.WalkDir(inst, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte("hello from env_file")) {
				t.Errorf("%s holds an env value", p)
			}
			return nil
		})
	})
	e.must("down", "-f", file, "-t", "0s")
	e.assertNothingLeft()
}

// hostAddress is the host's first IPv4 address that is not a loopback one.
func hostAddress(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	t.Fatal("the host has no address but its loopback to stand for the outside")
	return ""
}

// fleetListen is a service's balancer address from vmfleet ls --json.
func fleetListen(t *testing.T, e *testEnv, fleet, service string) string {
	t.Helper()
	var fleets []struct {
		Name     string
		Services []struct{ Name, Listen string }
	}
	if err := json.Unmarshal([]byte(e.must("ls", "--json")), &fleets); err != nil {
		t.Fatal(err)
	}
	for _, f := range fleets {
		for _, s := range f.Services {
			if f.Name == fleet && s.Name == service {
				return s.Listen
			}
		}
	}
	t.Fatalf("no service %s/%s in vmfleet ls", fleet, service)
	return ""
}

func TestSlowStartingTCPServiceGetsNoConnectionBeforeItListens(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	// Listens six seconds after it starts, like redis loading its data;
	// QEMU's forward accepts for it from the first instant.
	file := fleetFile(t, fmt.Sprintf(`name: slow
time_scale: 0.1
services:
  cache:
    image: {rootfs: %s}
    command: [/bin/sh, -c, "busybox sleep 6; exec busybox httpd -f -p 8080 -h /www"]
    port: 8080
    memory: 128MiB
    health: {type: tcp, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
`, busyboxTar(t, "ready\n")))
	start := time.Now()
	e.must("up", "-f", file, "--detach", "--wait-timeout", "4m")
	inService := time.Since(start)
	// The first request after up says "in service" must be answered: no
	// retry, no second target to replay on.
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + fleetListen(t, e, "slow", "cache") + "/index.html")
	if err != nil {
		t.Fatalf("in service after %v, but the first request failed: %v", inService, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ready\n" {
		t.Fatalf("first request: %s %q", resp.Status, body)
	}
	e.must("down", "-f", file, "-t", "0s")
	e.assertNothingLeft()
}

func TestInstanceMetadataAnswersLikeEC2sToTheAWSSDK(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	file := fleetFile(t, fmt.Sprintf(`name: meta
time_scale: 0.1
services:
  asker:
    image: {binary: %s}
    command: [/app/imdsclient]
    port: 8080
    user_data: "#!/bin/sh\necho hello from user data\n"
    cpu: 0.5
    memory: 128MiB
    health: {type: tcp, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
`, bin("imdsclient")))
	e.must("up", "-f", file, "--detach", "--wait-timeout", "4m")
	rows := e.instances()
	if len(rows) != 1 {
		t.Fatalf("want one instance, got %+v", rows)
	}
	inst := rows[0]
	var got map[string]string
	if err := json.Unmarshal([]byte(e.get("http://"+inst.Address+"/", inst)), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"instance-id": inst.ID, "document.instanceId": inst.ID, "v1.instance-id": inst.ID,
		"ami-id": inst.ImageDigest, "instance-type": "vmf.0.5cpu-128mib", "local-ipv4": "10.0.2.15",
		"tags/instance/vmfleet:fleet": "meta", "tags/instance/vmfleet:service": "asker",
		"region": "vmfleet-local", "placement/availability-zone": "vmfleet-local-1a",
		"user-data": "#!/bin/sh\necho hello from user data\n",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: the guest's SDK read %q, ps --json says %q", k, got[k], v)
		}
	}
	if !strings.HasPrefix(got["hostname"], "asker-") {
		t.Errorf("hostname %q", got["hostname"])
	}
	e.must("down", "-f", file, "-t", "0s")
	e.assertNothingLeft()
}
