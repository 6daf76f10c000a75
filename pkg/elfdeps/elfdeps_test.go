package elfdeps

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// needCC skips a test that links C objects on a host without a C compiler.
func needCC(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("cc"); err != nil {
		t.Skip("no C compiler (cc) to build dynamically linked test objects")
	}
}

// cc compiles source with cc and the given flags into out.
func cc(t *testing.T, out, source string, flags ...string) {
	t.Helper()
	src := out + ".c"
	if err := os.WriteFile(src, []byte(source), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-o", out, src}, flags...)
	if b, err := exec.Command("cc", args...).CombinedOutput(); err != nil {
		t.Fatalf("cc %s: %v\n%s", strings.Join(args, " "), err, b)
	}
}

// libs builds, in dir, libbar.so, libfoo.so (which needs libbar) and an
// executable that needs libfoo, both finding their libraries through a
// RUNPATH of dir.
func libs(t *testing.T, dir string) (exe string) {
	t.Helper()
	runpath := "-Wl,-rpath," + dir + ",--enable-new-dtags"
	cc(t, filepath.Join(dir, "libbar.so"), "int bar(void) { return 1; }\n", "-shared", "-fPIC")
	cc(t, filepath.Join(dir, "libfoo.so"), "int bar(void);\nint foo(void) { return bar(); }\n", "-shared", "-fPIC", "-L"+dir, "-lbar", runpath)
	exe = filepath.Join(dir, "app")
	cc(t, exe, "int foo(void);\nint main(void) { return foo(); }\n", "-L"+dir, "-lfoo", runpath)
	return exe
}

func TestAStaticExecutableNeedsNothing(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "static")
	for name, text := range map[string]string{"go.mod": "module static\n", "main.go": "package main\n\nfunc main() {}\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "build", "-o", exe, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	got, err := List(exe)
	if err != nil || got != nil {
		t.Errorf("List(a static Go binary) = %q, %v; want nothing", got, err)
	}
}

func TestAFileThatIsNotELFNeedsNothing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "init")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := List(p)
	if err != nil || got != nil {
		t.Errorf("List(a script) = %q, %v; want nothing", got, err)
	}
}

func TestAMissingExecutableIsAnError(t *testing.T) {
	p := filepath.Join(t.TempDir(), "init")
	if _, err := List(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("List(a missing file) = %v, want an error naming it", err)
	}
}

func TestADynamicExecutableNeedsItsLoaderThenLibc(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("the loader's path is x86-64 glibc's")
	}
	got, err := List("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != "/lib64/ld-linux-x86-64.so.2" || filepath.Base(got[1]) != "libc.so.6" {
		t.Fatalf("List(/bin/true) = %q, want the loader, then libc.so.6 (libc's need for the loader is the loader itself)", got)
	}
	// Where the guest's loader looks without an ld.so.cache.
	if d := filepath.Dir(got[1]); d != "/lib/x86_64-linux-gnu" && d != "/usr/lib/x86_64-linux-gnu" {
		t.Errorf("libc.so.6 found in %s, want the multiarch directory the loader searches first", d)
	}
}

func TestLibrariesAreFollowedThroughTheirRunpath(t *testing.T) {
	needCC(t)
	dir := t.TempDir()
	got, err := List(libs(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{filepath.Join(dir, "libfoo.so"), filepath.Join(dir, "libbar.so")} {
		if n := count(got, want); n != 1 {
			t.Errorf("List holds %s %d times, want once: %q", want, n, got)
		}
	}
	libc := slices.IndexFunc(got, func(p string) bool { return filepath.Base(p) == "libc.so.6" })
	if libc < 0 {
		t.Errorf("List lacks libc.so.6: %q", got)
	}
	if n := count(got, got[0]); n != 1 {
		t.Errorf("the loader %s is listed %d times: %q", got[0], n, got)
	}
}

func TestALibraryOfAnotherMachineIsPassedOver(t *testing.T) {
	needCC(t)
	dir := t.TempDir()
	exe := libs(t, dir)
	// The RUNPATH's first directory holds a libfoo.so for another machine,
	// as /lib may hold a 32-bit libc: the loader skips it, so must List.
	other := filepath.Join(t.TempDir(), "other")
	b, err := os.ReadFile(filepath.Join(dir, "libfoo.so"))
	if err != nil {
		t.Fatal(err)
	}
	b[18], b[19] = 183, 0 // e_machine: EM_AARCH64, little-endian
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "libfoo.so"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	cc(t, exe, "int foo(void);\nint main(void) { return foo(); }\n", "-L"+dir, "-lfoo", "-Wl,-rpath,"+other+":"+dir+",--enable-new-dtags")
	got, err := List(exe)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got, filepath.Join(dir, "libfoo.so")) || slices.Contains(got, filepath.Join(other, "libfoo.so")) {
		t.Errorf("List = %q, want %s/libfoo.so and not the other machine's", got, dir)
	}
}

func TestAMissingLibraryIsRefusedInOneLineWithTheFix(t *testing.T) {
	needCC(t)
	dir := t.TempDir()
	exe := libs(t, dir)
	if err := os.Remove(filepath.Join(dir, "libbar.so")); err != nil {
		t.Fatal(err)
	}
	_, err := List(exe)
	if err == nil {
		t.Fatal("List found every library though libbar.so is gone")
	}
	for _, want := range []string{"libfoo.so needs libbar.so", dir, "/usr/lib", "rebuild " + exe, "CGO_ENABLED=0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q is more than one line", err)
	}
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

func TestAMissingLoaderIsRefusedInOneLineWithTheFix(t *testing.T) {
	// /bin/true asking for a loader this host lacks, as a binary built
	// against musl would on a glibc host.
	b, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Skip("no /bin/true to copy")
	}
	const loader = "/lib64/ld-linux-x86-64.so.2"
	if !bytes.Contains(b, []byte(loader+"\x00")) {
		t.Skipf("/bin/true does not ask for %s", loader)
	}
	exe := filepath.Join(t.TempDir(), "true")
	if err := os.WriteFile(exe, bytes.Replace(b, []byte(loader), []byte("/lib64/ld-missing-x86-64.so"), 1), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = List(exe)
	if err == nil {
		t.Fatal("List accepted a loader that does not exist")
	}
	for _, want := range []string{exe, "/lib64/ld-missing-x86-64.so", "CGO_ENABLED=0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
