package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/image"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

func (e *testEnv) bakeHello(extra ...string) image.Manifest {
	e.t.Helper()
	args := append([]string{"bake", "--json", "--name", "hello", "--binary", bin("hello"),
		"--copy", filepath.Join(moduleRoot(), "testdata/hello/static") + ":/srv/static",
		"--env", "GREETING=hi", "--port", "8080"}, extra...)
	args = append(args, "--", "/app/hello", "-listen", ":8080")
	var m image.Manifest
	if err := json.Unmarshal([]byte(e.must(args...)), &m); err != nil {
		e.t.Fatal(err)
	}
	return m
}

func tool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestBakedImagePassesTheFieldsOwnTools(t *testing.T) {
	e := newTestEnv(t)
	m := e.bakeHello()

	tool(t, "qemu-img", "check", m.Disk)
	var info struct {
		Format string `json:"format"`
	}
	if err := json.Unmarshal([]byte(tool(t, "qemu-img", "info", "--output=json", m.Disk)), &info); err != nil || info.Format != "qcow2" {
		t.Fatalf("disk format %q (%v), want qcow2", info.Format, err)
	}
	raw := filepath.Join(t.TempDir(), "disk.raw")
	tool(t, "qemu-img", "convert", "-O", "raw", m.Disk, raw)
	tool(t, "e2fsck", "-fn", raw)
	dumped := filepath.Join(t.TempDir(), "hello")
	tool(t, "debugfs", "-R", "dump /app/hello "+dumped, raw)
	want, _ := os.ReadFile(bin("hello"))
	got, err := os.ReadFile(dumped)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("/app/hello read back with debugfs differs from the input binary (%d vs %d bytes, %v)", len(got), len(want), err)
	}

	// images --json carries what scripts need.
	var list []map[string]any
	if err := json.Unmarshal([]byte(e.must("images", "--json")), &list); err != nil || len(list) != 1 {
		t.Fatalf("images --json: %v %v", list, err)
	}
	for _, k := range []string{"name", "digest", "disk", "kernel", "initrd", "size_bytes"} {
		if _, ok := list[0][k]; !ok {
			t.Errorf("images --json lacks %q: %v", k, list[0])
		}
	}
	if !filepath.IsAbs(list[0]["disk"].(string)) {
		t.Errorf("disk path %v is not absolute", list[0]["disk"])
	}
	// Unchanged inputs are not baked again.
	if again := e.bakeHello(); again.Digest != m.Digest || !again.Created.Equal(m.Created) {
		t.Errorf("re-bake of unchanged inputs rebuilt the image: %s vs %s", again.Digest, m.Digest)
	}
}

func TestRunBootsTheImageAndServesThroughLoopback(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	e.bakeHello()
	inst := e.run("hello", "--cpu", "0.5", "--memory", "256MiB", "--env", "EXTRA=yes")
	// It boots at its whole vCPU (a boot burst), visible to virsh and in
	// stats, and gets its cap of half a core within limits.BootBurst.
	if sched := tool(t, "virsh", "schedinfo", inst.Domain); !regexpMatch(`global_quota\s*:\s*100000`, sched) {
		t.Errorf("no boot burst:\n%s", sched)
	}
	var bursting []api.Stats
	if err := json.Unmarshal([]byte(e.must("stats", "--json", "--interval", "100ms")), &bursting); err != nil {
		t.Fatal(err)
	}
	if len(bursting) != 1 || bursting[0].BurstUntil == nil || bursting[0].CPUCap != 1 {
		t.Errorf("stats during the burst: %+v", bursting)
	}

	if !strings.HasPrefix(inst.Address, "127.0.0.1:") {
		t.Fatalf("address %q is not on 127.0.0.1", inst.Address)
	}
	answer := e.get("http://"+inst.Address+"/", inst)
	if want := "hi from hello instance " + inst.ID; strings.TrimSpace(answer) != want {
		t.Errorf("answer %q, want %q", answer, want)
	}
	var env map[string]string
	if err := json.Unmarshal([]byte(e.get("http://"+inst.Address+"/env", inst)), &env); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"VMFLEET_INSTANCE_ID": inst.ID, "VMFLEET_SERVICE": "hello", "GREETING": "hi", "EXTRA": "yes"} {
		if env[k] != v {
			t.Errorf("guest env %s=%q, want %q", k, env[k], v)
		}
	}
	if got := e.get("http://"+inst.Address+"/file?path=/srv/static/index.html", inst); !strings.Contains(got, "static file baked") {
		t.Errorf("copied file: %q", got)
	}

	// The caps, read back with virsh: half a core for the whole domain,
	// and a hard limit covering guest RAM plus QEMU's overhead.
	var sched string
	for deadline := time.Now().Add(limits.BootBurst + 5*time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if sched = tool(t, "virsh", "schedinfo", inst.Domain); regexpMatch(`global_quota\s*:\s*50000`, sched) {
			break
		}
	}
	if !regexpMatch(`global_period\s*:\s*100000`, sched) || !regexpMatch(`global_quota\s*:\s*50000`, sched) {
		t.Errorf("cpu cap not applied after the burst:\n%s", sched)
	}
	memtune := tool(t, "virsh", "memtune", inst.Domain)
	if !regexpMatch(fmt.Sprintf(`hard_limit\s*:\s*%d`, (256+256)*1024), memtune) {
		t.Errorf("memory cap not applied:\n%s", memtune)
	}
	// stats reads the same caps back, with the instance's use against them.
	var stats []api.Stats
	if err := json.Unmarshal([]byte(e.must("stats", "--json", "--interval", "300ms")), &stats); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range stats {
		if r.ID != inst.ID {
			continue
		}
		found = true
		if r.CPUCap != 0.5 || r.BurstUntil != nil || r.LimitBytes != (256+256)<<20 || r.GuestBytes != 256<<20 {
			t.Errorf("stats caps: %+v", r)
		}
		if r.RSSBytes == 0 || r.RSSBytes > r.LimitBytes || r.PSSBytes == 0 || r.PSSBytes > r.RSSBytes || r.CPUPercent < 0 || r.CPUPercent > 100 {
			t.Errorf("stats use out of bounds: %+v", r)
		}
	}
	if !found {
		t.Errorf("stats has no row for %s: %+v", inst.ID, stats)
	}
	if console, _ := os.ReadFile(inst.Console); !strings.Contains(string(console), "vmfleet-init: ready") {
		t.Errorf("console log lacks init's output:\n%s", console)
	}

	e.must("rm", inst.ID)
	if out, _ := exec.Command("virsh", "dominfo", inst.Domain).CombinedOutput(); !strings.Contains(string(out), "failed to get domain") {
		t.Errorf("domain still defined after rm:\n%s", out)
	}
	if _, err := os.Stat(inst.Dir); !os.IsNotExist(err) {
		t.Errorf("instance dir %s still there after rm", inst.Dir)
	}
	e.assertNothingLeft()
}

// busyboxTar writes a root filesystem tarball with busybox and a web root,
// the way `docker export` hands over an image in any language; apps are
// host binaries put under /app.
func busyboxTar(t testing.TB, page string, apps ...string) string {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("busybox-static is needed (make setup installs it): %v", err)
	}
	p := filepath.Join(t.TempDir(), "rootfs.tar")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	add := func(h *tar.Header, body []byte) {
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	add(&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	add(&tar.Header{Name: "./bin/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	add(&tar.Header{Name: "./bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755}, bb)
	add(&tar.Header{Name: "./bin/sh", Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}, nil)
	add(&tar.Header{Name: "./www/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	add(&tar.Header{Name: "./www/index.html", Typeflag: tar.TypeReg, Mode: 0o644}, []byte(page))
	if len(apps) > 0 {
		add(&tar.Header{Name: "./app/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	}
	for _, a := range apps {
		body, err := os.ReadFile(a)
		if err != nil {
			t.Fatal(err)
		}
		add(&tar.Header{Name: "./app/" + filepath.Base(a), Typeflag: tar.TypeReg, Mode: 0o755}, body)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

func TestRootfsTarballServesFromAnyLanguage(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	tarball := busyboxTar(t, "served by busybox httpd\n")
	e.must("bake", "--name", "shell", "--rootfs", tarball, "--port", "8080", "--", "/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www")
	inst := e.run("shell")
	if got := e.get("http://"+inst.Address+"/index.html", inst); got != "served by busybox httpd\n" {
		t.Errorf("busybox httpd answered %q", got)
	}
	e.must("rm", "-f", inst.ID)
	e.assertNothingLeft()
}

func TestInstanceStopsWhenItsServiceExits(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	tarball := busyboxTar(t, "")
	e.must("bake", "--name", "oneshot", "--rootfs", tarball, "--", "/bin/sh", "-c", "echo working; exit 3")
	inst := e.run("oneshot")
	waitState(t, e, inst.ID, "shutoff")
	console, _ := os.ReadFile(inst.Console)
	for _, want := range []string{"working", "service exited with status 3"} {
		if !strings.Contains(string(console), want) {
			t.Errorf("console lacks %q:\n%s", want, console)
		}
	}
}

func TestPowerButtonStopsTheServiceGracefully(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	e.bakeHello()
	inst := e.run("hello")
	e.get("http://"+inst.Address+"/", inst)
	tool(t, "virsh", "shutdown", "--mode", "acpi", inst.Domain)
	waitState(t, e, inst.ID, "shutoff")
	console, _ := os.ReadFile(inst.Console)
	for _, want := range []string{"power button pressed: sending SIGTERM", "msg=stopping", "service exited with status 0"} {
		if !strings.Contains(string(console), want) {
			t.Errorf("console lacks %q:\n%s", want, console)
		}
	}
}

func TestRmiRefusesAnImageInUse(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	e.bakeHello()
	inst := e.run("hello")
	r := e.vmfleet("rmi", "hello")
	if r.code == 0 || !strings.Contains(r.stderr, "used by instance "+inst.ID) {
		t.Fatalf("rmi of an image in use: exit %d, %q", r.code, r.stderr)
	}
	e.must("rm", "-f", inst.ID)
	e.must("rmi", "hello")
	if out := e.must("images", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("images after rmi: %s", out)
	}
	entries, _ := os.ReadDir(filepath.Join(e.home, "images"))
	if len(entries) != 0 {
		t.Errorf("image files left after rmi: %v", entries)
	}
}

func waitState(t *testing.T, e *testEnv, id, state string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		for _, i := range e.instances() {
			if i.ID == id && string(i.State) == state {
				return
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("instance %s never reached %s", id, state)
}
