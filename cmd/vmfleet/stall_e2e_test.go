package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// libvirtdPID is the running libvirtd's, from its pid file.
func libvirtdPID(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/run/libvirtd.pid")
	if err != nil {
		t.Skipf("no libvirtd pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("libvirtd pid file: %v", err)
	}
	return pid
}

// With libvirtd stopped (SIGSTOP) for 30 s, ps, ls and events answer
// within 1 s throughout, and a command that needs libvirtd fails in one
// line naming it instead of hanging; once it runs again, so does vmfleet.
func TestAStoppedLibvirtdLeavesPsLsAndEventsAnswering(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	e.bakeHello()
	inst := e.run("hello")
	pid := libvirtdPID(t)

	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			syscall.Kill(pid, syscall.SIGCONT)
		}
	}
	t.Cleanup(resume) // whatever fails below, libvirtd runs again
	stopped := time.Now()

	var slowest time.Duration
	timed := func(args ...string) result {
		start := time.Now()
		r := e.vmfleetFor(3*time.Second, args...) // a hang fails, not blocks, the test
		took := time.Since(start)
		slowest = max(slowest, took)
		if took > time.Second {
			t.Errorf("%s took %s with libvirtd stopped %s ago, want under 1s", strings.Join(args, " "), took, time.Since(stopped).Round(time.Second))
		}
		return r
	}
	checkAll := func() {
		if r := timed("ps"); r.code != 0 || !strings.Contains(r.stdout, inst.ID) {
			t.Errorf("ps with libvirtd stopped: exit %d, %q %q", r.code, r.stdout, r.stderr)
		}
		if r := timed("ls"); r.code != 0 {
			t.Errorf("ls with libvirtd stopped: exit %d, %q", r.code, r.stderr)
		}
		if r := timed("events"); r.code != 0 {
			t.Errorf("events with libvirtd stopped: exit %d, %q", r.code, r.stderr)
		}
	}
	checkAll()
	// rm needs libvirtd: it fails, in one line naming it, within the time
	// the daemon takes to find the stall.
	start := time.Now()
	r := e.vmfleetFor(20*time.Second, "rm", "-f", inst.ID)
	took := time.Since(start)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if r.code != 1 || len(lines) != 1 || !strings.Contains(lines[0], "libvirtd") || took > 15*time.Second {
		t.Errorf("rm with libvirtd stopped: exit %d after %s, %q; want exit 1 within 15s, one line naming libvirtd", r.code, took, r.stderr)
	}
	t.Logf("rm with libvirtd stopped: exit %d after %s: %s", r.code, took.Round(time.Millisecond), strings.TrimSpace(r.stderr))
	for time.Since(stopped) < 30*time.Second {
		checkAll()
		time.Sleep(time.Second)
	}
	t.Logf("slowest ps, ls or events over %s of libvirtd stopped: %s", time.Since(stopped).Round(time.Second), slowest.Round(time.Millisecond))

	resume()
	e.waitFor("the daemon back on libvirtd", 30*time.Second, func() bool {
		return e.info().Libvirt == "connected"
	})
	e.must("rm", "-f", inst.ID)
	if strings.Contains(e.must("ps"), inst.ID) {
		t.Errorf("ps still shows %s after rm", inst.ID)
	}
}

// vmfleetFor is vmfleet killed after limit (exit -1).
func (e *testEnv) vmfleetFor(limit time.Duration, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin("vmfleet"), append([]string{"--home", e.home}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("vmfleet %v: %v", args, err)
	}
	return r
}
