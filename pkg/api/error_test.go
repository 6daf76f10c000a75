package api

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
)

func TestClassifyKeepsACallSitesKindButNeverCallsAFullDiskBadInput(t *testing.T) {
	enospc := &os.PathError{Op: "write", Path: "/home/images/tmp/x", Err: syscall.ENOSPC}
	edquot := &os.PathError{Op: "write", Path: "/home/images/tmp/x", Err: syscall.EDQUOT}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"bad input", Invalid(errors.New("--memory lots: write it like 256MiB")), KindInvalid},
		{"not found", fmt.Errorf("down: %w", NotFound(errors.New("no fleet nosuch"))), KindNotFound},
		{"conflict", Conflict(errors.New("going down")), KindConflict},
		{"plain error", errors.New("boom"), KindFailed},
		// The way the daemon's bake for up wrapped it: the whole bake
		// marked as the file's fault.
		{"ENOSPC under Invalid", Invalid(fmt.Errorf("service web: %w", enospc)), KindFailed},
		{"EDQUOT under Invalid", Invalid(fmt.Errorf("service web: %w", edquot)), KindFailed},
		{"qemu-img's text under Invalid", Invalid(errors.New("qemu-img convert: No space left on device")), KindFailed},
		{"quota text", Invalid(errors.New("tar: write error: Disk quota exceeded")), KindFailed},
		{"cancelled under Invalid", Invalid(fmt.Errorf("bake: %w", context.Canceled)), KindFailed},
		// What the client decodes from the wire keeps the daemon's verdict.
		{"wire failure", &Error{Kind: KindFailed, Message: "bake web: no space left on device on the disk holding /h"}, KindFailed},
		{"wire bad input", &Error{Kind: KindInvalid, Message: "fleet.yaml:7: write it like 256MiB"}, KindInvalid},
	} {
		if got := Classify(tc.err).Kind; got != tc.want {
			t.Errorf("%s: Classify(%q).Kind = %s, want %s", tc.name, tc.err, got, tc.want)
		}
	}
	if Classify(nil) != nil {
		t.Error("Classify(nil) is not nil")
	}
	if e := Classify(Invalid(fmt.Errorf("service web: %w", enospc))); e.Status() != 500 || e.Message != "service web: write /home/images/tmp/x: no space left on device" {
		t.Errorf("a full disk answers %d %q, want 500 and the message as it was", e.Status(), e.Message)
	}
}
