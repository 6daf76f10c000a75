package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a buffer a process writes while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// interruptedDown starts `vmfleet down`, presses Ctrl-C once it drains,
// and returns what it printed.
func (e *testEnv) interruptedDown(file string, args ...string) string {
	e.t.Helper()
	cmd := exec.Command(bin("vmfleet"), append([]string{"--home", e.home, "down", "-f", file}, args...)...)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.waitFor("down to begin draining", time.Minute, func() bool { return strings.Contains(out.String(), "draining fleet") })
	time.Sleep(300 * time.Millisecond) // the request is in the daemon's hands
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	return out.String()
}

// A down, once asked for, is the daemon's to finish: Ctrl-C on the
// client, or a daemon restart in the middle, leaves the fleet fully down
// and the next up works. Before, the daemon kept the fleet "being taken
// down" forever and refused every up, or a restarted daemon brought the
// fleet back.
func TestAnInterruptedDownLeavesTheFleetDownAndUpWorksAfter(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	file := writeFleet(t, freePort(t), freePort(t), 1)
	gone := func() bool {
		return !strings.Contains(e.must("ls", "--json"), `"name":"shop"`) && len(e.instances()) == 0
	}

	e.must("up", "-f", file, "--detach", "--wait-timeout", "4m")
	out := e.interruptedDown(file, "-t", "20s")
	if !strings.Contains(out, "the daemon goes on taking it down") {
		t.Errorf("Ctrl-C on down printed %q, want it to say the daemon carries on", out)
	}
	e.waitFor("the daemon to finish the down", 2*time.Minute, gone)
	e.must("up", "-f", file, "--detach", "--wait-timeout", "4m")

	// The same with the daemon stopped right after: the next one finishes
	// the down rather than bringing the fleet back.
	e.interruptedDown(file, "-t", "20s")
	e.must("daemon", "stop")
	e.waitFor("the next daemon to finish the down", 2*time.Minute, gone)
	time.Sleep(5 * time.Second) // a fleet brought back would launch by now
	if !gone() {
		t.Fatalf("the fleet came back after a down and a daemon restart: %s", e.must("ps"))
	}
	e.must("up", "-f", file, "--detach", "--wait-timeout", "4m")
	e.must("down", "-f", file, "-t", "0s")
	e.assertNothingLeft()
}
