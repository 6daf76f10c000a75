package image

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/u-root/u-root/pkg/cpio"

	"github.com/vmfleet/vmfleet/pkg/kernel"
)

// The guest's /init is whichever binary the bake was given: vmfleet-init,
// or vmfleet itself, static or dynamically linked.

// oneModuleKernel is a kernel with one plain module, enough for
// writeInitramfs.
func oneModuleKernel(t testing.TB) *kernel.Kernel {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "kernel/a.ko"), []byte("\x7fELF pretend module"), 0o644)
	return &kernel.Kernel{Version: "test", ModulesDir: dir, Modules: []string{"kernel/a.ko"}}
}

// initramfsWith writes an initramfs with init as /init and reads it back.
func initramfsWith(t testing.TB, init string) (map[string]cpio.Record, []string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "initrd.img")
	if err := writeInitramfs(out, oneModuleKernel(t), init); err != nil {
		t.Fatal(err)
	}
	return readInitramfs(t, out)
}

// staticInitramfs is everything an initramfs of a static init holds.
var staticInitramfs = []string{
	"dev", "dev/console", "proc", "sys", "newroot", "etc", "etc/vmfleet", "lib", "lib/modules",
	"init", "lib/modules/a.ko", "etc/vmfleet/modules",
}

// vmfleetBin builds cmd/vmfleet, static, once for the tests that need it.
var vmfleetBin = sync.OnceValues(func() (string, error) {
	p := filepath.Join(filepath.Dir(initBin), "vmfleet")
	return p, goBuild(p, "./cmd/vmfleet")
})

// dynamicHello builds the sample service with cgo: Go's net package then
// links it dynamically against the host's libc, as a plain `go build` of
// vmfleet on a machine with a C compiler does.
func dynamicHello(t testing.TB) string {
	t.Helper()
	cc, err := exec.Command("go", "env", "CC").Output()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath(strings.TrimSpace(string(cc))); err != nil {
		t.Skipf("no C compiler (%s) to build a dynamically linked Go binary", strings.TrimSpace(string(cc)))
	}
	p := filepath.Join(t.TempDir(), "hello")
	if err := goBuild(p, "./testdata/hello", "CGO_ENABLED=1"); err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !slices.ContainsFunc(f.Progs, func(p *elf.Prog) bool { return p.Type == elf.PT_INTERP }) {
		t.Fatalf("%s built with CGO_ENABLED=1 is static; the test needs a dynamically linked binary", p)
	}
	return p
}

func TestInitramfsOfAStaticInitHoldsItAndNothingElse(t *testing.T) {
	self, err := vmfleetBin()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, init string }{
		{"vmfleet-init", initBin},
		{"vmfleet itself", self},
	} {
		t.Run(c.name, func(t *testing.T) {
			recs, names := initramfsWith(t, c.init)
			if !slices.Equal(names, staticInitramfs) {
				t.Errorf("the initramfs of static %s holds %q, want %q", c.name, names, staticInitramfs)
			}
			init := recs["init"]
			if init.Mode != cpio.S_IFREG|0o755 || !bytes.Equal(recordContent(t, init), readFile(t, c.init)) {
				t.Errorf("/init (mode %#o) is not %s, byte for byte, executable", init.Mode, c.init)
			}
		})
	}
}

func TestInitramfsOfADynamicInitCarriesItsLoaderAndLibcWhereTheyAreOpened(t *testing.T) {
	dyn := dynamicHello(t)
	recs, names := initramfsWith(t, dyn)
	if !bytes.Equal(recordContent(t, recs["init"]), readFile(t, dyn)) {
		t.Error("/init differs from the dynamically linked binary")
	}
	// The kernel opens the interpreter by its PT_INTERP path, the loader
	// libc.so.6 in its first system directory (there is no ld.so.cache).
	for guest, host := range map[string]string{
		"lib64/ld-linux-x86-64.so.2":     "/lib64/ld-linux-x86-64.so.2",
		"lib/x86_64-linux-gnu/libc.so.6": "/lib/x86_64-linux-gnu/libc.so.6",
	} {
		r, ok := recs[guest]
		if !ok {
			t.Errorf("no /%s in the initramfs: %q", guest, names)
			continue
		}
		// The kernel execs the interpreter: it must be executable.
		if r.Mode != cpio.S_IFREG|0o755 {
			t.Errorf("/%s has mode %#o, want a regular file 0755", guest, r.Mode)
		}
		if !bytes.Equal(recordContent(t, r), readFile(t, host)) {
			t.Errorf("/%s differs from the host's %s", guest, host)
		}
	}
	// What is beside the static layout is libraries, the host's bytes, each
	// in a directory the archive made first: the kernel's unpacker does not
	// create missing parents.
	seen := map[string]bool{}
	for _, n := range names {
		if dir := path.Dir(n); dir != "." && !seen[dir] {
			t.Errorf("/%s comes before its directory /%s", n, dir)
		}
		if recs[n].Mode&cpio.S_IFMT == cpio.S_IFDIR {
			seen[n] = true
		}
		if slices.Contains(staticInitramfs, n) || seen[n] {
			continue
		}
		if !strings.HasPrefix(n, "lib64/") && !strings.HasPrefix(n, "lib/x86_64-linux-gnu/") {
			t.Errorf("/%s is in the initramfs: neither the static layout nor a library directory", n)
			continue
		}
		if !bytes.Equal(recordContent(t, recs[n]), readFile(t, "/"+n)) {
			t.Errorf("/%s differs from the host's", n)
		}
	}
}

// initNeedingLib builds, with cc, an executable that needs libfoo.so from
// dir through its RUNPATH.
func initNeedingLib(t testing.TB) (exe, lib string) {
	t.Helper()
	if _, err := exec.LookPath("cc"); err != nil {
		t.Skip("no C compiler (cc) to build a dynamically linked init")
	}
	dir := t.TempDir()
	lib, exe = filepath.Join(dir, "libfoo.so"), filepath.Join(dir, "init")
	writeFile(t, lib+".c", []byte("int foo(void) { return 0; }\n"), 0o644)
	writeFile(t, exe+".c", []byte("int foo(void);\nint main(void) { return foo(); }\n"), 0o644)
	for _, args := range [][]string{
		{"-shared", "-fPIC", "-o", lib, lib + ".c"},
		{"-o", exe, exe + ".c", "-L" + dir, "-lfoo", "-Wl,-rpath," + dir},
	} {
		if out, err := exec.Command("cc", args...).CombinedOutput(); err != nil {
			t.Fatalf("cc %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return exe, lib
}

func TestDigestCoversADynamicInitsLibraries(t *testing.T) {
	exe, lib := initNeedingLib(t)
	in := testInputs(t)
	in.Init = exe
	r := Recipe{Name: "hello", Binary: helloBin}
	before := digestOf(t, r, in)
	// Trailing bytes no loader reads: still a change of what the guest gets.
	writeFile(t, lib, append(readFile(t, lib), 0), 0o755)
	if after := digestOf(t, r, in); after == before {
		t.Error("the digest stayed the same when a library the init needs changed")
	}
}

func TestBakeRefusesAnInitWhoseLibraryIsMissing(t *testing.T) {
	exe, lib := initNeedingLib(t)
	if err := os.Remove(lib); err != nil {
		t.Fatal(err)
	}
	in := testInputs(t)
	in.Init = exe
	s := newStore(t)
	_, err := s.Bake(t.Context(), Recipe{Name: "hello", Binary: helloBin}, in)
	if err == nil {
		t.Fatal("bake of an init whose libfoo.so is gone succeeded")
	}
	for _, want := range []string{exe, "libfoo.so", "CGO_ENABLED=0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	assertNothingLeft(t, s, "hello")
}

func TestADynamicInitStartsFromTheInitramfsAlone(t *testing.T) {
	// Short of booting a guest: unpack the initramfs's files and directories
	// and exec /init chrooted there, where only what the bake carried can
	// be loaded. The flag package answers -h and exits.
	recs, names := initramfsWith(t, dynamicHello(t))
	root := t.TempDir()
	for _, n := range names {
		r, p := recs[n], filepath.Join(root, n)
		switch r.Mode & cpio.S_IFMT {
		case cpio.S_IFDIR:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case cpio.S_IFREG:
			writeFile(t, p, recordContent(t, r), os.FileMode(r.Mode&0o777))
		}
	}
	cmd := []string{"chroot", root, "/init", "-h"}
	if os.Geteuid() != 0 {
		cmd = append([]string{"unshare", "--user", "--map-root-user"}, cmd...)
	}
	out, _ := exec.Command(cmd[0], cmd[1:]...).CombinedOutput()
	switch {
	case strings.Contains(string(out), "Usage of /init"):
	case strings.HasPrefix(string(out), "unshare:"), strings.Contains(string(out), "cannot change root"):
		t.Skipf("cannot chroot here: %s", out)
	default:
		t.Errorf("%s: the init did not start from the initramfs's files: %s", strings.Join(cmd, " "), out)
	}
}
