package image

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/u-root/u-root/pkg/cpio"
	"github.com/ulikunitz/xz"

	"github.com/vmfleet/vmfleet/images"
	"github.com/vmfleet/vmfleet/pkg/guestlayout"
	"github.com/vmfleet/vmfleet/pkg/kernel"
)

// readInitramfs reads a newc archive back with u-root's reader, by name.
func readInitramfs(t testing.TB, p string) (map[string]cpio.Record, []string) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(f))
	if err != nil {
		t.Fatalf("read initramfs %s: %v", p, err)
	}
	byName := map[string]cpio.Record{}
	var names []string
	for _, r := range recs {
		byName[r.Name] = r
		names = append(names, r.Name)
	}
	return byName, names
}

func recordContent(t testing.TB, r cpio.Record) []byte {
	t.Helper()
	b, err := io.ReadAll(io.NewSectionReader(r.ReaderAt, 0, int64(r.FileSize)))
	if err != nil {
		t.Fatalf("read %s from the initramfs: %v", r.Name, err)
	}
	return b
}

func TestInitramfsHoldsInitConsoleAndModulesInDependencyOrder(t *testing.T) {
	s := newStore(t)
	in := testInputs(t)
	m := bake(t, s, Recipe{Name: "hello", Binary: helloBin}).Manifest
	recs, names := readInitramfs(t, m.Initrd)

	// GNU cpio reads the same archive and sees the same entries.
	out, err := exec.Command("cpio", "-it", "--quiet", "-F", m.Initrd).Output()
	if err != nil {
		t.Fatalf("cpio -it %s: %v", m.Initrd, err)
	}
	if got := strings.Fields(string(out)); !slices.Equal(got, names) {
		t.Errorf("cpio -t lists %q, u-root's reader %q", got, names)
	}

	init, ok := recs["init"]
	if !ok {
		t.Fatalf("no /init in the initramfs: %q", names)
	}
	if init.Mode != cpio.S_IFREG|0o755 {
		t.Errorf("/init has mode %#o, want a regular file 0755", init.Mode)
	}
	if !bytes.Equal(recordContent(t, init), readFile(t, initBin)) {
		t.Error("/init differs from the vmfleet-init binary")
	}

	console, ok := recs["dev/console"]
	if !ok {
		t.Fatalf("no /dev/console in the initramfs: %q", names)
	}
	if console.Mode&cpio.S_IFMT != cpio.S_IFCHR || console.Rmajor != 5 || console.Rminor != 1 {
		t.Errorf("/dev/console has mode %#o device %d:%d, want a character device 5:1", console.Mode, console.Rmajor, console.Rminor)
	}
	for _, d := range []string{"dev", "proc", "sys", rel(guestlayout.NewRoot), rel(guestlayout.ModulesDir)} {
		if r, ok := recs[d]; !ok || r.Mode&cpio.S_IFMT != cpio.S_IFDIR {
			t.Errorf("no directory /%s in the initramfs", d)
		}
	}

	list, ok := recs[rel(guestlayout.ModulesList)]
	if !ok {
		t.Fatalf("no %s in the initramfs: %q", guestlayout.ModulesList, names)
	}
	order := strings.Fields(string(recordContent(t, list)))

	// Every module is there, byte for byte the kernel's.
	if len(order) != len(in.Kernel.Modules) {
		t.Errorf("%s lists %d modules, the kernel resolves %d", guestlayout.ModulesList, len(order), len(in.Kernel.Modules))
	}
	for i, file := range in.Kernel.Modules {
		name := kernel.ModuleName(file) + ".ko"
		if i < len(order) && order[i] != name {
			t.Errorf("module %d is %s, want %s", i, order[i], name)
		}
		r, ok := recs[path.Join(rel(guestlayout.ModulesDir), name)]
		if !ok {
			t.Errorf("module %s is listed but not in the initramfs", name)
			continue
		}
		want, err := readModule(filepath.Join(in.Kernel.ModulesDir, file))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(recordContent(t, r), want) {
			t.Errorf("module %s differs from %s", name, file)
		}
	}

	// Checked against the kernel's own modules.dep, not the code that
	// computed the order: every dependency loads before its user, and
	// everything wanted and depended on is there.
	dep := parseModulesDep(t, filepath.Join(in.Kernel.ModulesDir, "modules.dep"))
	pos := map[string]int{}
	for i, name := range order {
		pos[strings.TrimSuffix(name, ".ko")] = i
	}
	def, err := kernel.ParseDefinition(images.KernelJSON)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range def.Modules {
		if _, ok := pos[want]; !ok {
			t.Errorf("the definition wants module %s; the initramfs lacks it", want)
		}
	}
	for user, i := range pos {
		for _, d := range dep[user] {
			j, ok := pos[d]
			switch {
			case !ok:
				t.Errorf("%s needs %s, which the initramfs lacks", user, d)
			case j > i:
				t.Errorf("%s loads at %d, before %s it needs at %d", user, i, d, j)
			}
		}
	}
	// The facts the guest depends on, spelled out.
	for _, p := range [][2]string{{"virtio_ring", "virtio"}, {"virtio", "virtio_pci"}, {"virtio_pci_modern_dev", "virtio_pci"}, {"failover", "net_failover"}, {"net_failover", "virtio_net"}} {
		if pos[p[0]] >= pos[p[1]] {
			t.Errorf("%s must load before %s: %q", p[0], p[1], order)
		}
	}
}

// parseModulesDep maps each module name to the names it needs.
func parseModulesDep(t testing.TB, p string) map[string][]string {
	t.Helper()
	deps := map[string][]string{}
	for line := range strings.Lines(string(readFile(t, p))) {
		file, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var names []string
		for _, d := range strings.Fields(rest) {
			names = append(names, kernel.ModuleName(d))
		}
		deps[kernel.ModuleName(file)] = names
	}
	return deps
}

func TestInitramfsDecompressesModules(t *testing.T) {
	// Debian 13 and Ubuntu ship .ko.xz and .ko.zst; the guest loads them
	// with finit_module and no in-kernel decompressor.
	dir := t.TempDir()
	plain := []byte("\x7fELF pretend module")
	var xzBuf, zstBuf bytes.Buffer
	xw, err := xz.NewWriter(&xzBuf)
	if err != nil {
		t.Fatal(err)
	}
	xw.Write(plain)
	xw.Close()
	zw, err := zstd.NewWriter(&zstBuf)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(plain)
	zw.Close()
	writeFile(t, filepath.Join(dir, "kernel/a-b.ko.xz"), xzBuf.Bytes(), 0o644)
	writeFile(t, filepath.Join(dir, "kernel/c.ko.zst"), zstBuf.Bytes(), 0o644)
	writeFile(t, filepath.Join(dir, "kernel/d.ko"), plain, 0o644)
	k := &kernel.Kernel{Version: "test", ModulesDir: dir, Modules: []string{"kernel/a-b.ko.xz", "kernel/c.ko.zst", "kernel/d.ko"}}

	out := filepath.Join(t.TempDir(), "initrd.img")
	if err := writeInitramfs(out, k, initBin); err != nil {
		t.Fatal(err)
	}
	recs, names := readInitramfs(t, out)
	for _, name := range []string{"a_b.ko", "c.ko", "d.ko"} {
		r, ok := recs["lib/modules/"+name]
		if !ok {
			t.Errorf("no %s in the initramfs: %q", name, names)
			continue
		}
		if got := recordContent(t, r); !bytes.Equal(got, plain) {
			t.Errorf("%s is %q, want the decompressed module", name, got)
		}
	}
	if got := string(recordContent(t, recs[rel(guestlayout.ModulesList)])); got != "a_b.ko\nc.ko\nd.ko\n" {
		t.Errorf("module list %q", got)
	}
}
