package daemon

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/client"
	"github.com/vmfleet/vmfleet/pkg/image"
	"github.com/vmfleet/vmfleet/pkg/kernel"
)

// A bake that runs out of disk is a failure, never the input's fault:
// whether `bake` or `up` (whose bake marked every error bad input) met it.
// A real full disk: a small tmpfs, so root only.
func TestADiskFullBakeIsAFailureInBakeAndInUp(t *testing.T) {
	d, in, tarball := fullDiskDaemon(t)
	ctx := context.Background()

	_, err := d.Bake(ctx, api.BakeRequest{Name: "big", Rootfs: tarball, Command: []string{"/bin/sh"}})
	wantDiskFullFailure(t, "bake", err)

	f := parsed(t, `name: full
services:
  big:
    image: {rootfs: `+tarball+`}
    command: [/bin/sh]
    port: 8080
`)
	_, err = d.bake(ctx, f, in)
	wantDiskFullFailure(t, "up's bake", err)
}

func wantDiskFullFailure(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s into a full disk succeeded", what)
	}
	e := api.Classify(err)
	if e.Kind != api.KindFailed || e.Status() != 500 || api.BadInput(err) {
		t.Errorf("%s: kind %s (HTTP %d), want %s: %v", what, e.Kind, e.Status(), api.KindFailed, err)
	}
	if !strings.Contains(e.Message, "no space left on device") || !strings.Contains(e.Message, "free space") {
		t.Errorf("%s: want the disk named full and the fix, got %q", what, e.Message)
	}
}

// fullDiskDaemon is a daemon that only bakes, its home on an 8 MiB tmpfs,
// and a root filesystem tarball too big for it.
func fullDiskDaemon(t *testing.T) (*Daemon, image.Inputs, string) {
	t.Helper()
	dir := t.TempDir()
	homeDir := filepath.Join(dir, "home")
	os.Mkdir(homeDir, 0o755)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", homeDir).CombinedOutput(); err != nil {
		t.Skipf("mount a small tmpfs (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", homeDir).Run() })

	tarball := filepath.Join(dir, "rootfs.tar")
	big := make([]byte, 16<<20)
	rand.Read(big)
	writeTar(t, tarball, map[string][]byte{"bin/sh": []byte("#!stub\n"), "srv/big": big})

	// Stand-ins for the guest kernel: a bake that boots nothing reads
	// them as bytes.
	kdir := filepath.Join(dir, "kernel")
	os.MkdirAll(filepath.Join(kdir, "modules"), 0o755)
	os.WriteFile(filepath.Join(kdir, "vmlinuz-0.0.0-stub"), []byte("not a kernel\n"), 0o644)
	os.WriteFile(filepath.Join(kdir, "modules", "virtio_blk.ko"), []byte("not a module\n"), 0o644)
	in := image.Inputs{Init: "/bin/true", Kernel: &kernel.Kernel{
		Version: "0.0.0-stub", Image: filepath.Join(kdir, "vmlinuz-0.0.0-stub"),
		ModulesDir: filepath.Join(kdir, "modules"), Modules: []string{"virtio_blk.ko"},
	}}
	st, err := image.OpenStore(homeDir)
	if err != nil {
		t.Fatal(err)
	}
	d := &Daemon{images: st, events: newHub(nil), fleets: map[string]*fleetRun{}, loaded: loadedNow(),
		cfg: Config{Inputs: func(string, string) (image.Inputs, error) { return in, nil }}}
	return d, in, tarball
}

func writeTar(t *testing.T, path string, files map[string][]byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	for name, b := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(b)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

// A fleet that does not exist is the caller's mistake, as the CLI reads
// it from the answer: not_found, which exits 2.
func TestAFleetNotFoundIsBadInputOverTheWire(t *testing.T) {
	d := &Daemon{events: newHub(nil), fleets: map[string]*fleetRun{}, loaded: loadedNow()}
	srv := httptest.NewServer(d.Handler("", func() {}))
	defer srv.Close()
	cl := client.TCP(strings.TrimPrefix(srv.URL, "http://"), "")
	_, err := cl.Fleet(context.Background(), "nosuch")
	if e := api.Classify(err); err == nil || e.Kind != api.KindNotFound || !api.BadInput(err) || !strings.Contains(e.Message, "nosuch") {
		t.Errorf("fleet nosuch: got %v (kind %v), want not_found naming it", err, e)
	}
}
