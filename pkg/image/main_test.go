package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmfleet/vmfleet/images"
	"github.com/vmfleet/vmfleet/pkg/kernel"
)

// Built once per test binary by TestMain: the real vmfleet-init and the
// sample service, as static executables.
var (
	initBin  string
	helloBin string
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "vmfleet-image-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	initBin = filepath.Join(dir, "vmfleet-init")
	helloBin = filepath.Join(dir, "hello")
	if err := goBuild(initBin, "./cmd/vmfleet-init"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := goBuild(helloBin, "./testdata/hello"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// goBuild builds a package of this module as a static executable, unless
// env (appended last, so it wins) says otherwise.
func goBuild(out, pkg string, env ...string) error {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0"), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// testInputs resolves the host's real guest kernel, as vmfleet bake does.
func testInputs(t testing.TB) Inputs {
	t.Helper()
	def, err := kernel.ParseDefinition(images.KernelJSON)
	if err != nil {
		t.Fatal(err)
	}
	k, err := kernel.Resolve(def, kernel.Selector{})
	if err != nil {
		t.Fatalf("resolve the guest kernel (make setup installs it): %v", err)
	}
	return Inputs{Kernel: k, Init: initBin}
}

// stubInputs stand in for the guest kernel in bakes that boot nothing: a
// kernel image and a module that are only bytes, so what a bake refuses or
// writes is tested on hosts without the guest kernel too.
func stubInputs(t testing.TB) Inputs {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "vmlinuz-0.0.0-stub"), []byte("not a kernel\n"), 0o644)
	writeFile(t, filepath.Join(dir, "modules", "virtio_blk.ko"), []byte("not a module\n"), 0o644)
	return Inputs{Init: initBin, Kernel: &kernel.Kernel{
		Version: "0.0.0-stub", Image: filepath.Join(dir, "vmlinuz-0.0.0-stub"),
		ModulesDir: filepath.Join(dir, "modules"), Modules: []string{"virtio_blk.ko"},
	}}
}

func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func bake(t testing.TB, s *Store, r Recipe) *Result {
	t.Helper()
	res, err := s.Bake(context.Background(), r, testInputs(t))
	if err != nil {
		t.Fatalf("bake: %v", err)
	}
	return res
}

// tool runs a host tool and returns its stdout; a failure fails the test
// with everything the tool said.
func tool(t testing.TB, name string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// rawDisk checks the image's qcow2 with qemu-img and converts it back to a
// raw filesystem for e2fsck and debugfs.
func rawDisk(t testing.TB, m *Manifest) string {
	t.Helper()
	tool(t, "qemu-img", "check", m.Disk)
	var info struct {
		Format      string `json:"format"`
		VirtualSize int64  `json:"virtual-size"`
	}
	if err := json.Unmarshal([]byte(tool(t, "qemu-img", "info", "--output=json", m.Disk)), &info); err != nil {
		t.Fatal(err)
	}
	if info.Format != "qcow2" {
		t.Fatalf("qemu-img info says %s is %q, want qcow2", m.Disk, info.Format)
	}
	if info.VirtualSize != m.DiskVirtual {
		t.Errorf("disk virtual size %d, manifest says %d", info.VirtualSize, m.DiskVirtual)
	}
	raw := filepath.Join(t.TempDir(), "disk.raw")
	tool(t, "qemu-img", "convert", "-f", "qcow2", "-O", "raw", m.Disk, raw)
	return raw
}

// fsck insists the filesystem is clean: e2fsck -n changes nothing and
// exits non-zero on any problem, -f checks even a cleanly unmounted one.
func fsck(t testing.TB, raw string) {
	t.Helper()
	tool(t, "e2fsck", "-fn", raw)
}

// dump reads a file out of the filesystem with debugfs.
func dump(t testing.TB, raw, p string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "dump")
	// debugfs reports a missing file on stderr and still exits 0.
	msg := debugfs(t, raw, fmt.Sprintf("dump %s %s", p, out))
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("debugfs dump %s: %v (%s)", p, err, msg)
	}
	return b
}

// debugfs runs one debugfs request against raw and returns what it said,
// stdout and stderr together (it prints its banner and errors on stderr).
func debugfs(t testing.TB, raw, request string) string {
	t.Helper()
	out, err := exec.Command("debugfs", "-R", request, raw).CombinedOutput()
	if err != nil {
		t.Fatalf("debugfs -R %q: %v\n%s", request, err, out)
	}
	return string(out)
}

// inodeMode is the permission bits debugfs stat shows for p, e.g. 0755 or
// 04755 (the type is a separate field).
func inodeMode(t testing.TB, raw, p string) string { return statField(t, raw, p, "Mode:") }

// inodeType is the type debugfs stat shows for p: regular, directory,
// symlink...
func inodeType(t testing.TB, raw, p string) string { return statField(t, raw, p, "Type:") }

// statField is the word after field in debugfs's stat of p.
func statField(t testing.TB, raw, p, field string) string {
	t.Helper()
	out := debugfs(t, raw, "stat "+p)
	i := strings.Index(out, field)
	if i < 0 {
		t.Fatalf("debugfs stat %s: no %s in\n%s", p, field, out)
	}
	return strings.Fields(out[i+len(field):])[0]
}

// assertNothingLeft checks a failed bake left the store as it found it:
// no image, nothing in progress, no name (for name or any other).
func assertNothingLeft(t testing.TB, s *Store, name string) {
	t.Helper()
	for _, d := range []string{"tmp", "images", "names", "disks", "initrds"} {
		entries, err := os.ReadDir(filepath.Join(s.Root, d))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			t.Errorf("a failed bake of %q left %s/%s behind", name, d, e.Name())
		}
	}
}

func writeFile(t testing.TB, p string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// linkTarget reads a symlink's target out of the filesystem: debugfs rdump
// recreates the link on the host, fast or slow.
func linkTarget(t testing.TB, raw, p string) string {
	t.Helper()
	dir := t.TempDir()
	msg := debugfs(t, raw, fmt.Sprintf("rdump %s %s", p, dir))
	target, err := os.Readlink(filepath.Join(dir, filepath.Base(p)))
	if err != nil {
		t.Fatalf("%s in the image is not a symlink: %v (%s)", p, err, msg)
	}
	return target
}

// owner is the uid and gid debugfs stat shows for p.
func owner(t testing.TB, raw, p string) (uid, gid string) {
	t.Helper()
	f := strings.Fields(debugfs(t, raw, "stat "+p))
	for i := 0; i+1 < len(f); i++ {
		switch f[i] {
		case "User:":
			uid = f[i+1]
		case "Group:":
			gid = f[i+1]
		}
	}
	return uid, gid
}
