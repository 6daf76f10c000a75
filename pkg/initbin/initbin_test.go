package initbin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// install lays out dir as `make build` or `go install` leaves it: vmfleet,
// and vmfleet-init beside it if withSmall.
func install(t *testing.T, withSmall bool) (self string) {
	t.Helper()
	dir := t.TempDir()
	self = filepath.Join(dir, "vmfleet")
	files := []string{self}
	if withSmall {
		files = append(files, filepath.Join(dir, Small))
	}
	for _, p := range files {
		if err := os.WriteFile(p, []byte("\x7fELF"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return self
}

func TestVmfleetInitBesideTheExecutableIsTheInit(t *testing.T) {
	self := install(t, true)
	got, err := choose("", self)
	if want := filepath.Join(filepath.Dir(self), Small); err != nil || got != want {
		t.Errorf("choose = %q, %v; want the smaller %s beside vmfleet", got, err, want)
	}
}

func TestWithNothingBesideItTheExecutableIsItsOwnInit(t *testing.T) {
	// What `go install ./cmd/vmfleet` leaves: vmfleet alone.
	self := install(t, false)
	got, err := choose("", self)
	if err != nil || got != self {
		t.Errorf("choose = %q, %v; want vmfleet itself, %s", got, err, self)
	}
}

func TestADirectoryCalledVmfleetInitBesideIsNoInit(t *testing.T) {
	self := install(t, false)
	if err := os.Mkdir(filepath.Join(filepath.Dir(self), Small), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := choose("", self)
	if err != nil || got != self {
		t.Errorf("choose = %q, %v; want vmfleet itself, %s", got, err, self)
	}
}

func TestAnExplicitInitWinsOverEverything(t *testing.T) {
	self := install(t, true)
	explicit := filepath.Join(t.TempDir(), "my-init")
	if err := os.WriteFile(explicit, []byte("\x7fELF"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := choose(explicit, self)
	if err != nil || got != explicit {
		t.Errorf("choose = %q, %v; want the explicit %s", got, err, explicit)
	}
}

func TestAMissingExplicitInitIsRefusedInOneLineWithTheFix(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "vmfleet-init")
	_, err := choose(missing, install(t, true))
	if err == nil {
		t.Fatalf("choose(%s) succeeded", missing)
	}
	for _, want := range []string{missing, "no such file", "--init", "VMFLEET_INIT"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Count(err.Error(), missing) != 1 || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q: want one line naming the path once", err)
	}
}

func TestChooseLooksBesideTheRunningExecutable(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	want := self
	if fi, err := os.Stat(filepath.Join(filepath.Dir(self), Small)); err == nil && fi.Mode().IsRegular() {
		want = filepath.Join(filepath.Dir(self), Small)
	}
	if got, err := Choose(""); err != nil || got != want {
		t.Errorf("Choose(\"\") = %q, %v; want %s", got, err, want)
	}
}

func TestADirectoryAsTheExplicitInitIsRefused(t *testing.T) {
	dir := t.TempDir()
	if _, err := choose(dir, install(t, true)); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("choose(a directory) = %v, want an error saying it is not a regular file", err)
	}
}
