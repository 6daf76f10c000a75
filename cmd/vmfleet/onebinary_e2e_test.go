package main

import (
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/instance"
)

// A vmfleet built the plainest way (`go build`, cgo as the machine has
// it, so likely dynamically linked, and no vmfleet-init beside it) bakes
// images that boot: it is its own guest init.
func TestAPlainlyBuiltVmfleetAloneBakesImagesThatBoot(t *testing.T) {
	needLibvirt(t)
	dir, err := os.MkdirTemp("", "vmfleet-plain-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", dir, "./cmd/vmfleet")
	build.Dir = moduleRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	self := filepath.Join(dir, "vmfleet")
	if f, err := elf.Open(self); err == nil {
		dynamic := false
		for _, p := range f.Progs {
			dynamic = dynamic || p.Type == elf.PT_INTERP
		}
		f.Close()
		t.Logf("plain build is dynamically linked: %v", dynamic)
	}
	e := newTestEnv(t)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, self, append([]string{"--home", e.home}, args...)...)
		cmd.Env = append(os.Environ(), "VMFLEET_INIT=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("vmfleet %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("bake", "--name", "plain", "--binary", bin("hello"), "--env", "GREETING=alone", "--port", "8080", "--", "/app/hello", "-listen", ":8080")
	var inst instance.Instance
	jsonDecode(t, run("run", "--json", "plain"), &inst)
	if got := e.get("http://"+inst.Address+"/", inst); !strings.Contains(got, "alone from plain instance "+inst.ID) {
		t.Errorf("answer %q", got)
	}
	run("rm", "-f", inst.ID)
}
