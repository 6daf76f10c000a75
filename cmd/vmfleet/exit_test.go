package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/guestexec"
)

// runCLI runs the CLI in-process as main does: the exit status and the
// one line main would print.
func runCLI(t *testing.T, args ...string) (code int, line, stdout string) {
	t.Helper()
	app := newApp()
	var out, errOut bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errOut
	err := app.RunContext(context.Background(), interspersed(app, append([]string{"vmfleet", "--home", t.TempDir()}, args...)))
	if err != nil {
		line = oneLine(err)
	}
	return exitCode(err), line, out.String() + errOut.String()
}

// Mistakes the CLI itself finds exit 2 with one line that says what is
// wrong and where to look, and no help page.
func TestUsageMistakesExit2InOneLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string // fragments of the line
	}{
		{"unknown command", []string{"nosuch"}, []string{`unknown command "nosuch"`, "vmfleet help"}},
		{"unknown flag", []string{"ps", "--nosuch"}, []string{"flag provided but not defined: -nosuch", "vmfleet ps --help"}},
		{"unknown global flag", []string{"--nosuch", "ps"}, []string{"-nosuch", "--help"}},
		{"bad flag value", []string{"down", "-t", "soon"}, []string{"soon", "vmfleet down --help"}},
		{"missing --name", []string{"bake", "--binary", "/bin/true"}, []string{"--name is missing", "--name hello"}},
		{"help for an unknown command", []string{"help", "nosuch"}, []string{`unknown command "nosuch"`, "vmfleet help"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, line, printed := runCLI(t, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (bad input); line %q", code, line)
			}
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("line %q lacks %q", line, w)
				}
			}
			if strings.Contains(printed, "USAGE") || strings.Contains(printed, "Incorrect Usage") {
				t.Errorf("printed a help page besides the line: %q", printed)
			}
		})
	}
}

// The exit status comes from the error alone, wherever it arose: a full
// disk is a failure whether bake or up's bake (which marked the whole
// bake bad input) met it, in the daemon or as the answer decoded from it.
func TestExitCodeIsDecidedByTheErrorAlone(t *testing.T) {
	enospc := &os.PathError{Op: "write", Path: "/h/images/tmp/bake-x/disk.raw", Err: syscall.ENOSPC}
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"none", nil, 0},
		{"bad input", bad(errors.New("--spares -1")), 2},
		{"daemon refused the input", &api.Error{Kind: api.KindInvalid, Message: "fleet.yaml:7: bad"}, 2},
		{"fleet not found", &api.Error{Kind: api.KindNotFound, Message: "no fleet nosuch; see vmfleet ls"}, 2},
		{"conflict", &api.Error{Kind: api.KindConflict, Message: "going down"}, 1},
		{"failure", errors.New("libvirtd did not answer"), 1},
		{"ENOSPC in up's bake", api.Invalid(fmt.Errorf("service web: bake x: %w", enospc)), 1},
		{"EDQUOT in a bake", api.Invalid(&os.PathError{Op: "write", Path: "/h/x", Err: syscall.EDQUOT}), 1},
		{"full disk decoded from the daemon", &api.Error{Kind: api.KindFailed, Message: "no space left on device on the disk holding /h"}, 1},
		{"exec passes the command's status on", exitStatus(7), 7},
		{"exec of a program the guest lacks", &guestexec.StartError{Status: 127, Message: "in the guest: start /no/such/program: no such file"}, 127},
		{"exec of a program the guest cannot run", &guestexec.StartError{Status: 126, Message: "in the guest: permission denied"}, 126},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("%s: exitCode(%v) = %d, want %d", tc.name, tc.err, got, tc.want)
		}
	}
}

// Help, asked for any way, is no mistake.
func TestHelpExits0(t *testing.T) {
	for _, args := range [][]string{{}, {"--help"}, {"-h"}, {"help"}, {"help", "ps"}, {"ps", "--help"}, {"daemon", "stop", "--help"}} {
		code, line, printed := runCLI(t, args...)
		if code != 0 || !strings.Contains(printed, "USAGE") {
			t.Errorf("vmfleet %v: exit %d (%q), want 0 and the help page; printed %q", args, code, line, printed)
		}
	}
}

// refusedOffline runs vmfleet with args in a fresh home and wants exit
// 2 with one line containing want, and no daemon started for it.
func refusedOffline(t *testing.T, args []string, want string) {
	t.Helper()
	home := t.TempDir()
	code, line, _ := runCLI(t, append([]string{"--home", home}, args...)...)
	if code != 2 || !strings.Contains(line, want) || strings.Contains(line, "\n") {
		t.Errorf("exit %d, %q; want 2 and one line about %q", code, line, want)
	}
	if _, err := os.Stat(filepath.Join(home, "daemon.log")); err == nil {
		t.Errorf("a daemon was started for bad input")
	}
}
