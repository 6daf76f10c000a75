package fleettest_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/fleettest"
)

// The harness on real VMs: a fleet comes up, answers through its
// balancer, and is gone after the test. Skipped without libvirtd unless
// VMFLEET_INTEGRATION is set (make test), like cmd/vmfleet's tests.
func TestUpServesTheFleetAndCleanupRemovesIt(t *testing.T) {
	if os.Getenv("VMFLEET_INTEGRATION") == "" {
		if _, err := os.Stat("/var/run/libvirt/libvirt-sock"); err != nil {
			t.Skip("no libvirtd; make test sets it up")
		}
	}
	bin := t.TempDir()
	os.Chmod(bin, 0o755)
	root := moduleRoot(t)
	for _, pkg := range []string{"./cmd/vmfleet", "./cmd/vmfleet-init", "./testdata/hello"} {
		cmd := exec.Command("go", "build", "-o", bin, pkg)
		cmd.Dir, cmd.Env = root, append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, out)
		}
	}
	home, err := os.MkdirTemp("", "vmfleet-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command(filepath.Join(bin, "vmfleet"), "--home", home, "daemon", "stop").Run()
		os.RemoveAll(home)
	})
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	os.WriteFile(file, []byte(fmt.Sprintf(`name: harness
time_scale: 0.1 # health checks every 1s (the floor), 0.8s timeout
services:
  api:
    image: {binary: %s}
    command: ["/app/hello", "-listen", ":8080"]
    env: {GREETING: harnessed}
    port: 8080
    instances: 1
    cpu: 0.5
    memory: 128MiB
    health: {type: http, path: /healthz, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
    balancer: {deregistration_delay: 0s}
`, filepath.Join(bin, "hello"))), 0o644)

	t.Run("up", func(t *testing.T) {
		f := fleettest.Up(t, file, fleettest.WithHome(home), fleettest.WithBinary(filepath.Join(bin, "vmfleet")))
		resp, err := http.Get("http://" + f.Addr("api") + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.HasPrefix(string(b), "harnessed from api instance i-") {
			t.Errorf("answer %q", b)
		}
	})
	// The subtest's Cleanup has run: the fleet is gone.
	out, err := exec.Command(filepath.Join(bin, "vmfleet"), "--home", home, "ps", "--json").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "[]" {
		t.Errorf("instances left after the test: %s %v", out, err)
	}
}

func moduleRoot(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}
