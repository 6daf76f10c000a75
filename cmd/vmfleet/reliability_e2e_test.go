package main

// Reliability on real VMs: the daemon and libvirtd restarted under load,
// concurrent ups, a down racing a bake, a full disk, and homes QEMU can
// or cannot reach.

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// writeService writes a one-service fleet "solo"; extra lines go under
// the service (indented four spaces).
func writeService(t *testing.T, port, instances int, extra ...string) string {
	t.Helper()
	yaml := fmt.Sprintf(`name: solo
time_scale: 0.1 # health checks every 1s (the floor), 0.8s timeout
services:
  api:
    image: {binary: %s}
    command: ["/app/hello", "-listen", ":8080"]
    env: {GREETING: solo}
    port: 8080
    instances: %d
    cpu: 0.5
    memory: 128MiB
    health: {type: http, path: /healthz, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
    balancer: {listen: 127.0.0.1:%d, deregistration_delay: 10s}
`, bin("hello"), instances, port)
	for _, l := range extra {
		yaml += "    " + l + "\n"
	}
	p := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// restartLibvirtd stops libvirtd and starts it again, the way a package
// upgrade or an admin does.
func restartLibvirtd(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("systemctl", "is-system-running").Output(); err == nil || strings.TrimSpace(string(out)) == "degraded" {
		if out, err := exec.Command("systemctl", "restart", "libvirtd").CombinedOutput(); err != nil {
			t.Fatalf("systemctl restart libvirtd: %v: %s", err, out)
		}
		return
	}
	b, err := os.ReadFile("/var/run/libvirtd.pid")
	if err != nil {
		t.Fatalf("libvirtd's pid file: %v", err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatalf("stop libvirtd %d: %v", pid, err)
	}
	for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	var st syscall.WaitStatus
	syscall.Wait4(pid, &st, syscall.WNOHANG, nil) // reap it if it was ours
	if out, err := exec.Command("libvirtd", "-d").CombinedOutput(); err != nil {
		t.Fatalf("start libvirtd: %v: %s", err, out)
	}
	for i := 0; i < 100; i++ {
		if _, err := os.Stat("/var/run/libvirt/libvirt-sock"); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("libvirtd did not come back")
}

func TestALibvirtdRestartLosesNoConnectionAndReplacementStillWorks(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	port := freePort(t)
	file := writeService(t, port, 2)
	e.must("up", "-f", file, "-d", "--wait-timeout", "3m")
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)

	l := startLoad(url)
	time.Sleep(500 * time.Millisecond)
	restartLibvirtd(t)
	e.waitFor("the daemon to reconnect", time.Minute, func() bool {
		return strings.Contains(e.must("info", "--json"), `"libvirt": "connected"`)
	})
	time.Sleep(time.Second)
	l.finish(t, "through a libvirtd restart")

	// The daemon still sees libvirt's events: a killed instance is
	// replaced.
	rows := e.ps("solo")
	victim := rows[0]
	pid, err := os.ReadFile("/var/run/libvirt/qemu/" + victim.Domain + ".pid")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(strings.TrimSpace(string(pid)))
	syscall.Kill(p, syscall.SIGKILL)
	e.waitFor("a replacement in service", 2*time.Minute, func() bool {
		in := healthy(e.ps("solo"), "api")
		for _, r := range in {
			if r.ID == victim.ID {
				return false
			}
		}
		return len(in) == 2
	})
}

func TestTwoConcurrentUpsOfOneFileEndWithOneSetOfInstances(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	file := writeService(t, freePort(t), 2)
	e.must("ls") // one daemon for both: two first commands would race to start one
	var wg sync.WaitGroup
	results := make([]result, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.vmfleet("up", "-f", file, "-d", "--wait-timeout", "3m")
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 0 {
			t.Errorf("up %d: exit %d: %s", i, r.code, r.stderr)
		}
	}
	if n := len(e.ps("solo")); n != 2 {
		t.Errorf("%d instances after two concurrent ups, want 2:\n%s", n, e.must("ps"))
	}
}

func TestADownDuringABakeWins(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	// A large file to copy in makes the bake take seconds.
	big := filepath.Join(t.TempDir(), "big")
	data := make([]byte, 256<<20)
	rand.Read(data)
	if err := os.WriteFile(big, data, 0o644); err != nil {
		t.Fatal(err)
	}
	file := writeService(t, freePort(t), 1)
	b, _ := os.ReadFile(file)
	os.WriteFile(file, []byte(strings.Replace(string(b), "image: {binary: "+bin("hello")+"}",
		"image: {binary: "+bin("hello")+", copy: [\""+big+":/srv/big\"]}", 1)), 0o644)
	e.must("ls")
	upDone := make(chan result, 1)
	go func() { upDone <- e.vmfleet("up", "-f", file, "-d") }()
	e.waitFor("the bake to start", time.Minute, func() bool {
		return strings.Contains(e.must("events"), "baking solo-api")
	})
	down := e.vmfleet("down", "-f", file)
	up := <-upDone
	if down.code != 0 {
		t.Errorf("down during the bake: exit %d: %s", down.code, down.stderr)
	}
	if up.code == 0 || !strings.Contains(up.stderr, "taken down") {
		t.Errorf("up whose bake a down interrupted: exit %d: %s", up.code, up.stderr)
	}
	time.Sleep(2 * time.Second) // nothing may boot after the down
	e.assertNothingLeft()
	e.assertNoFleet("solo")
	entries, _ := os.ReadDir(filepath.Join(e.home, "images"))
	for _, en := range entries {
		if _, err := os.Stat(filepath.Join(e.home, "images", en.Name(), "manifest.json")); err != nil {
			t.Errorf("a half-written image is left: %s", en.Name())
		}
	}
}

func TestAFullDiskDuringABakeSaysSoInOneLineAndLeavesNoHalfImage(t *testing.T) {
	needLibvirt(t)
	dir, err := os.MkdirTemp("", "vmfleet-test-tmpfs-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=48m,mode=0755", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a small tmpfs (needs root): %v: %s", err, out)
	}
	defer exec.Command("umount", "-l", dir).Run()
	home := filepath.Join(dir, "home")
	// The daemon first (it says it started, on a line of its own).
	if out, err := exec.Command(bin("vmfleet"), "--home", home, "ls").CombinedOutput(); err != nil {
		t.Fatalf("ls: %v: %s", err, out)
	}
	defer exec.Command(bin("vmfleet"), "--home", home, "daemon", "stop").Run()
	big := filepath.Join(t.TempDir(), "big")
	data := make([]byte, 64<<20)
	rand.Read(data)
	os.WriteFile(big, data, 0o644)
	out, err := exec.Command(bin("vmfleet"), "--home", home, "bake", "--name", "full", "--binary", bin("hello"),
		"--copy", big+":/srv/big", "--", "/app/hello").CombinedOutput()
	msg := strings.TrimSpace(string(out))
	if err == nil {
		t.Fatalf("bake into a full disk succeeded: %s", msg)
	}
	if !strings.Contains(msg, "no space left") || strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "free") {
		t.Errorf("want one line saying the disk is full and how to fix it, got: %q", msg)
	}
	for _, sub := range []string{"images", "tmp", "names", "disks", "initrds"} {
		if entries, _ := os.ReadDir(filepath.Join(home, sub)); len(entries) > 0 {
			t.Errorf("%s/ not empty after a failed bake: %v", sub, entries)
		}
	}
}

func TestAFreshHomeWorksWhicheverCommandComesFirstAndAnUnreachableOneIsRefused(t *testing.T) {
	needLibvirt(t)
	parent, err := os.MkdirTemp("", "vmfleet-test-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(parent, 0o755)
	e := &testEnv{t: t, home: filepath.Join(parent, "home")} // does not exist yet
	t.Cleanup(func() {
		// The daemon is found through its home: stop it before the home goes.
		e.vmfleet("down", "--fleet", "solo", "-t", "0s")
		e.vmfleet("daemon", "stop")
		os.RemoveAll(parent)
	})
	// The first command is a detached up, as the README shows.
	e.must("up", "-f", writeService(t, freePort(t), 1), "-d", "--wait-timeout", "3m")
	for _, d := range []string{"", "images", "instances", "kernels", "disks", "initrds", "snapshots"} {
		st, err := os.Stat(filepath.Join(e.home, d))
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			t.Errorf("%s/%s: mode %v, err %v: QEMU cannot traverse it", e.home, d, st.Mode(), err)
		}
	}
	if st, err := os.Stat(filepath.Join(e.home, "state")); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("state/ should be private: %v %v", st.Mode(), err)
	}

	sock, err := os.Stat(filepath.Join(e.home, "vmfleet.sock"))
	if err != nil || sock.Mode().Perm() != 0o660 {
		t.Errorf("the daemon's socket: mode %v, err %v; want 0660", sock.Mode(), err)
	} else if g, err := user.LookupGroup("vmfleet"); err == nil && strconv.Itoa(int(sock.Sys().(*syscall.Stat_t).Gid)) != g.Gid {
		t.Errorf("the daemon's socket is not group vmfleet's")
	}

	private := filepath.Join(parent, "private")
	os.Mkdir(private, 0o700)
	r := (&testEnv{t: t, home: filepath.Join(private, "home")}).vmfleet("ls")
	if r.code != 2 || !strings.Contains(r.stderr, "chmod o+x "+private) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("a home under a 0700 directory: want exit 2 and one line with the fix, got %d: %q", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(private, "home")); !os.IsNotExist(err) {
		t.Errorf("the refused home was created anyway")
	}
}

// A foreground up ends by itself when the fleet is taken down from
// another shell (it used to hang forever).
func TestAForegroundUpEndsWhenAnotherShellTakesTheFleetDown(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	file := writeService(t, freePort(t), 1)
	cmd := exec.Command(bin("vmfleet"), "--home", e.home, "up", "-f", file)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	e.waitFor("the fleet up", 3*time.Minute, func() bool { return strings.Contains(out.String(), "fleet solo is up") })
	e.must("down", "-f", file)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("foreground up after a down elsewhere: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("foreground up still running 30s after the fleet was taken down:\n%s", out.String())
	}
	e.assertNothingLeft()
}

// syncBuffer is a bytes.Buffer safe for a writing process and a reading test.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
