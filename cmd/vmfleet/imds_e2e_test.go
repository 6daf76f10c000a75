package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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

// The finding: nginx from Debian's own package, on port 80, exited
// at once with "bind() to 0.0.0.0:80 failed (98: Address already in use)"
// because the guest's metadata server held 169.254.169.254:80 in the
// guest's own network namespace. Now nginx holds 0.0.0.0:80, is in
// service, and the instance still reads its id at 169.254.169.254 (IMDSv1
// before nginx starts, IMDSv2 while it runs).
func TestADebianNginxOnPort80IsInServiceAndReadsItsInstanceID(t *testing.T) {
	needLibvirt(t)
	rootfs := debianRootfs(t, "nginx-light", "curl")
	e := newTestEnv(t)
	file := fleetFile(t, fmt.Sprintf(`name: web80
time_scale: 1
services:
  nginx:
    image: {rootfs: %s}
    command: ["/bin/sh", "-c", "mkdir -p /var/www/html && curl -sSf http://169.254.169.254/latest/meta-data/instance-id > /var/www/html/instance-id && exec /usr/sbin/nginx -g 'daemon off;'"]
    port: 80
    cpu: 1
    memory: 256MiB
    health: {type: http, path: /instance-id, interval: 1s, timeout: 900ms, healthy_threshold: 2, unhealthy_threshold: 2}
`, rootfs))
	e.must("up", "-f", file, "--detach", "--wait-timeout", "170s")
	rows := e.instances()
	if len(rows) != 1 {
		t.Fatalf("want one instance, got %+v", rows)
	}
	inst := rows[0]
	if got := e.get("http://"+inst.Address+"/instance-id", inst); got != inst.ID {
		t.Errorf("nginx on port 80 served instance id %q read before it started; ps says %s", got, inst.ID)
	}
	r := e.inGuest(inst.ID, `t=$(curl -sSf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token) &&
curl -sSf -H "X-aws-ec2-metadata-token: $t" http://169.254.169.254/latest/meta-data/instance-id`)
	if r.code != 0 || r.stdout != inst.ID {
		t.Errorf("IMDSv2 while nginx holds port 80: exit %d, %q (want %s); stderr %s", r.code, r.stdout, inst.ID, r.stderr)
	}
	e.must("down", "-f", file, "-t", "0s")
	e.assertNothingLeft()
}
