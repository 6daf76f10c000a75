package client

import (
	"os"
	"path/filepath"
	"testing"
)

// A daemon that failed to start is reported by its cause, the worker's
// error, not by the supervisor's giving up that follows it; a log that
// was there before the start is not read.
func TestADaemonThatFailedToStartIsReportedByItsCause(t *testing.T) {
	log := filepath.Join(t.TempDir(), "daemon.log")
	before := "vmfleet: an error of an earlier start\n"
	os.WriteFile(log, []byte(before+
		"time=... level=INFO msg=starting\n"+
		"vmfleet: open store /var/lib/vmfleet/state/state.db: schema version 2 is from a vmfleet before v3\n"+
		"vmfleet: the daemon's worker failed before it was ready (exit status 1); see its log\n"), 0o600)
	got := startError(log, int64(len(before)))
	if want := "open store /var/lib/vmfleet/state/state.db: schema version 2 is from a vmfleet before v3"; got != want {
		t.Errorf("reported %q, want the cause %q", got, want)
	}
}
