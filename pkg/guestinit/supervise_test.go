package guestinit

import (
	"os"
	"path/filepath"
	"testing"
)

func TestABareCommandIsFoundOnPathInsideTheImageNotOnTheInitramfs(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{"usr/local/bin/svc", "bin/busybox", "bin/notafile/x"} {
		os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(root, p), []byte("x"), 0o755)
	}
	for name, want := range map[string]string{"svc": "/usr/local/bin/svc", "busybox": "/bin/busybox", "/app/x": "/app/x", "./rel/x": "./rel/x"} {
		got, err := lookPathIn(root, name)
		if err != nil || got != want {
			t.Errorf("lookPathIn(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	// A directory is not a command.
	if _, err := lookPathIn(root, "notafile"); err == nil {
		t.Error("a directory was taken for a command")
	}
	if _, err := lookPathIn(root, "missing"); err == nil {
		t.Error("a missing command was found")
	}
}
