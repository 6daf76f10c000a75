package main

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// Every bad input gets one line saying what is wrong and how to fix it, a
// non-zero exit, and leaves nothing behind.
func TestBadInputFailsInOneLineAndLeavesNothing(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	e.bakeHello() // a good image, so "run" cases fail for their own reason
	dir := t.TempDir()
	notExec := filepath.Join(dir, "notexec")
	os.WriteFile(notExec, []byte("x"), 0o644)
	script := filepath.Join(dir, "script.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o755)
	notTar := filepath.Join(dir, "notatar.tar")
	os.WriteFile(notTar, []byte("this is not a tar archive, just text that is long enough to not be a header block"), 0o644)
	badEnv := filepath.Join(dir, "bad.env")
	os.WriteFile(badEnv, []byte("OK=1\n1BAD=x\n"), 0o644)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)

	for _, tc := range []struct {
		name string
		args []string
		want string // a fragment of the one line
	}{
		{"missing binary", []string{"bake", "--name", "x", "--binary", filepath.Join(dir, "nope")}, "no such file"},
		{"binary not executable", []string{"bake", "--name", "x", "--binary", notExec}, "not executable; chmod +x"},
		{"script instead of a binary", []string{"bake", "--name", "x", "--binary", script}, "not a Linux executable"},
		{"dynamically linked binary", []string{"bake", "--name", "x", "--binary", "/bin/ls"}, "build it static"},
		{"copy without destination", []string{"bake", "--name", "x", "--binary", bin("hello"), "--copy", "static"}, "write it as SRC:DST"},
		{"copy with relative destination", []string{"bake", "--name", "x", "--binary", bin("hello"), "--copy", dir + ":srv"}, "absolute path"},
		{"copy of a missing source", []string{"bake", "--name", "x", "--binary", bin("hello"), "--copy", filepath.Join(dir, "nope") + ":/srv"}, "no such file"},
		{"unreadable tarball", []string{"bake", "--name", "x", "--rootfs", notTar, "--", "/bin/sh"}, "not a readable tar archive"},
		{"missing tarball", []string{"bake", "--name", "x", "--rootfs", filepath.Join(dir, "nope.tar"), "--", "/bin/sh"}, "no such file"},
		{"upper-case name", []string{"bake", "--name", "Hello", "--binary", bin("hello")}, "lower-case letters"},
		{"name with underscore", []string{"bake", "--name", "my_svc", "--binary", bin("hello")}, "lower-case letters"},
		{"unknown image", []string{"run", "nosuch"}, "no such image \"nosuch\"; bake it first"},
		{"memory below the kernel's need", []string{"run", "hello", "--memory", "32MiB"}, "below the 96MiB the guest kernel needs"},
		{"memory that is not a size", []string{"run", "hello", "--memory", "lots"}, "write it like 256MiB"},
		{"host port in use", []string{"run", "hello", "--host-port", busyPort}, "host port " + busyPort + " is in use"},
		{"missing env file", []string{"run", "hello", "--env-file", filepath.Join(dir, "missing.env")}, "missing.env: no such env file; check the path"},
		{"bad line in an env file", []string{"run", "hello", "--env-file", badEnv}, "bad.env:2: \"1BAD\" is not a valid environment variable name"},
		{"egress host port out of range", []string{"run", "hello", "--egress-host-port", "70000"}, "--egress-host-port 70000"},
		{"negative spares", []string{"daemon", "--spares", "-1"}, "--spares -1: give how many spares to keep, 0 for none"},
		{"an AWS region that is not one", []string{"daemon", "--aws-region", "mars"}, "--aws-region: region \"mars\" is not a region name"},
		{"an AWS account that is not 12 digits", []string{"daemon", "--aws-account", "12345"}, "--aws-account: account \"12345\" is not an AWS account id; give 12 digits"},
		{"an AWS credentials mode unknown", []string{"daemon", "--aws-credentials", "trust-me"}, "--aws-credentials: credentials \"trust-me\": use home"},
		{"an AWS listen address without a port", []string{"daemon", "--aws-listen", "127.0.0.1"}, "--aws-listen \"127.0.0.1\": give HOST:PORT"},
		{"a dashboard address without a port", []string{"daemon", "--dashboard-listen", "localhost"}, "--dashboard-listen \"localhost\": give HOST:PORT, like 127.0.0.1:4567, or off"},
		{"an argument to dashboard", []string{"dashboard", "web"}, "dashboard: takes no arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.vmfleet(tc.args...)
			if r.code != 2 {
				t.Fatalf("exit %d for %v, want 2 (bad input); stdout %q stderr %q", r.code, tc.args, r.stdout, r.stderr)
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Errorf("want one line containing %q, got %q", tc.want, r.stderr)
			}
			e.assertNothingLeft()
			if imgs := e.must("images", "--json"); strings.Count(imgs, `"name"`) != 1 {
				t.Errorf("a failed bake left an image: %s", imgs)
			}
		})
	}
}

// A daemon that cannot reach libvirtd says so, with the fix, in the one
// line of the command that started it; and a daemon already running for
// a home is not silently asked to use another libvirt.
func TestAnUnreachableLibvirtdFailsInOneLineWithTheFix(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	// The first command starts the daemon (and says so); it comes up
	// without libvirtd and keeps trying to reach it.
	bad := "qemu:///system?socket=/nonexistent/sock"
	if r := e.vmfleet("--connect", bad, "info"); r.code != 0 || !strings.Contains(r.stdout, "start it with make setup") {
		t.Errorf("info with libvirtd unreachable: want the daemon up and the fix shown, got %d: %s %s", r.code, r.stdout, r.stderr)
	}
	r := e.vmfleet("--connect", bad, "ps")
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if r.code != 1 || len(lines) != 1 || !strings.Contains(lines[0], "start it with make setup") {
		t.Errorf("want exit 1 and one line with the fix, got %d: %q", r.code, r.stderr)
	}
	e.must("daemon", "stop")
	e.must("ps") // starts the daemon on the default libvirt
	r = e.vmfleet("--connect", bad, "ps")
	if r.code != 2 || !strings.Contains(r.stderr, "vmfleet daemon stop") {
		t.Errorf("a --connect unlike the running daemon's: want exit 2 and how to switch, got %d: %q", r.code, r.stderr)
	}
}
