package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/instance"
)

// debianCache keeps distribution tarballs between runs: mmdebstrap takes
// a minute or two and a Debian mirror.
const debianCache = "/var/cache/vmfleet-e2e"

// debianRootfs is a Debian 12 minbase root filesystem with packages,
// made by mmdebstrap once and cached.
func debianRootfs(t *testing.T, packages ...string) string {
	t.Helper()
	p := filepath.Join(debianCache, "bookworm-minbase-"+strings.Join(packages, "-")+".tar")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	if _, err := exec.LookPath("mmdebstrap"); err != nil {
		t.Skipf("no cached %s and mmdebstrap is not installed: apt-get install mmdebstrap to run this test", p)
	}
	if err := os.MkdirAll(debianCache, 0o755); err != nil {
		t.Skipf("cannot cache the distribution tarball: %v", err)
	}
	part := p + ".partial"
	out, err := exec.Command("mmdebstrap", "--format=tar", "--variant=minbase", "--include="+strings.Join(packages, ","), "bookworm", part).CombinedOutput()
	if err != nil {
		os.Remove(part)
		t.Skipf("mmdebstrap could not build the distribution tarball (is a Debian mirror reachable?): %v\n%s", err, out[max(0, len(out)-2000):])
	}
	if err := os.Rename(part, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// nginxFleet is a fleet of one nginx service from a Debian rootfs on port
// 80, which reads its instance id from 169.254.169.254 (IMDSv2, which
// every metadata option serves) before nginx starts and serves it at
// /instance-id; extra is added to the service.
func nginxFleet(t *testing.T, name, extra string) string {
	rootfs := debianRootfs(t, "nginx-light", "curl")
	return fleetFile(t, fmt.Sprintf(`name: %s
time_scale: 0.1 # health checks every 1s (the floor), 0.8s timeout
services:
  nginx:
    image: {rootfs: %s}
    command: ["/bin/sh", "-c", "mkdir -p /var/www/html && t=$(curl -sSf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token) && curl -sSf -H \"X-aws-ec2-metadata-token: $t\" http://169.254.169.254/latest/meta-data/instance-id > /var/www/html/instance-id && exec /usr/sbin/nginx -g 'daemon off;'"]
    port: 80
    cpu: 1
    memory: 256MiB
    health: {type: http, path: /instance-id, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
%s`, name, rootfs, extra))
}

// readsItsOwnID checks that nginx, on the guest's port 80, serves the id
// the instance read before it started, that the instance reads it again
// with IMDSv2 while nginx holds the port, and that IMDSv1 answers v1 (200,
// or 401 where the launch template requires tokens).
func (e *testEnv) readsItsOwnID(id, address, console, v1 string) {
	e.t.Helper()
	if got := e.get("http://"+address+"/instance-id", instance.Instance{Console: console}); got != id {
		e.t.Errorf("nginx on port 80 served instance id %q read before it started; ps says %s", got, id)
	}
	r := e.inGuest(id, `t=$(curl -sSf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token) &&
curl -sSf -H "X-aws-ec2-metadata-token: $t" http://169.254.169.254/latest/meta-data/instance-id`)
	if r.code != 0 || r.stdout != id {
		e.t.Errorf("%s: IMDSv2 while nginx holds port 80: exit %d, %q; stderr %s", id, r.code, r.stdout, r.stderr)
	}
	r = e.inGuest(id, `curl -s -o /dev/null -w '%{http_code}' http://169.254.169.254/latest/meta-data/instance-id`)
	if r.stdout != v1 {
		e.t.Errorf("%s: IMDSv1 answered %q (exit %d), want %s", id, r.stdout, r.code, v1)
	}
}

// The finding: nginx from Debian's own package, on port 80, exited
// at once with "bind() to 0.0.0.0:80 failed (98: Address already in use)"
// because the guest's metadata server held 169.254.169.254:80 in the
// guest's own network namespace. Now nginx holds 0.0.0.0:80, is in
// service, and the instance still reads its id at 169.254.169.254.
func TestADebianNginxOnPort80IsInServiceAndReadsItsInstanceID(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	file := nginxFleet(t, "web80", "")
	e.must("up", "-f", file, "--detach", "--wait-timeout", "170s")
	rows := e.instances()
	if len(rows) != 1 {
		t.Fatalf("want one instance, got %+v", rows)
	}
	e.readsItsOwnID(rows[0].ID, rows[0].Address, rows[0].Console, "200")
	e.must("down", "-f", file, "-t", "0s")
	e.assertNothingLeft()
}

// A warm pool member hibernates with its metadata server's namespace and
// socket in its saved memory; resumed by a new QEMU for a scale-out, it
// still reads its own id while nginx holds port 80, and still requires
// the session tokens its launch template's metadata options ask for.
func TestAHibernatedWarmInstanceOnPort80StillReadsItsInstanceID(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	file := nginxFleet(t, "web80w", `    instances: 1
    scaling: {min: 0, max: 2}
    warm_pool: {min_size: 1, pool_state: hibernated}
    metadata_options: {http_tokens: required}
`)
	t.Cleanup(func() { e.vmfleet("down", "-f", file, "-t", "0s") })
	e.must("up", "-f", file, "--detach", "--wait-timeout", "170s")
	e.waitFor("the pool filled", 3*time.Minute, func() bool {
		return len(inPhase(e.ps("web80w"), "nginx", "Warmed:Hibernated")) == 1
	})
	warm := inPhase(e.ps("web80w"), "nginx", "Warmed:Hibernated")[0]
	e.must("scale", "-f", file, "nginx=2", "--wait", "--wait-timeout", "170s")
	serving := inPhase(e.ps("web80w"), "nginx", "InService")
	if len(serving) != 2 {
		t.Fatalf("in service after the scale-out: %+v", serving)
	}
	var fromPool bool
	for _, r := range serving {
		fromPool = fromPool || r.ID == warm.ID
		e.readsItsOwnID(r.ID, r.Address, r.Console, "401")
	}
	if !fromPool {
		t.Errorf("the pool's %s did not serve the scale-out: %+v", warm.ID, serving)
	}
	e.must("down", "-f", file, "-t", "0s")
	e.assertNothingLeft()
}
