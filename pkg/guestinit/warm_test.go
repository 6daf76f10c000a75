package guestinit

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAnInitBinaryRunWithTheWarmArgumentAloneIsWarming(t *testing.T) {
	for _, args := range [][]string{{"/proc/self/exe", WarmArg}, {"/init", WarmArg}} {
		if !Warming(args) {
			t.Errorf("Warming(%q) = false", args)
		}
	}
	for _, args := range [][]string{{"/init"}, {"/init", WarmArg, "x"}, {"vmfleet", "run", WarmArg}, {"vmfleet", "ps"}} {
		if Warming(args) {
			t.Errorf("Warming(%q) = true", args)
		}
	}
}

func TestWarmExecRunsTheBinaryWithTheWarmArgumentAndSaysWhenItFails(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "args")
	exe := filepath.Join(dir, "init")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\necho \"$@\" > "+out+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := warmExec(context.Background(), exe); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); strings.TrimSpace(string(b)) != WarmArg {
		t.Errorf("the binary ran with %q, want %q", b, WarmArg)
	}
	// A binary that does not know the argument (it exits non-zero).
	if err := os.WriteFile(exe, []byte("#!/bin/sh\nexit 2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := warmExec(context.Background(), exe); err == nil {
		t.Error("warmExec of a binary that exits 2 returned no error")
	}
}

func TestWarmTCPExchangesAMessageOnLoopback(t *testing.T) {
	if err := warmTCP(context.Background()); err != nil {
		t.Fatal(err)
	}
}
