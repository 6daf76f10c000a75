package guestexec

import (
	"strings"
	"testing"
)

func TestATTYIsTheCommandsTerminal(t *testing.T) {
	req := sh("test -t 0 && test -t 1 && test -t 2 && tty")
	req.TTY = true
	r := execute(t, req, Env{}, nil, nil, nil)
	if r.status != 0 || !strings.HasPrefix(r.stdout, "/dev/pts/") {
		t.Errorf("status %d, printed %q; want 0 and the pty's name", r.status, r.stdout)
	}
}

func TestATTYMergesStderrIntoStdout(t *testing.T) {
	req := sh("echo err >&2")
	req.TTY = true
	if r := execute(t, req, Env{}, nil, nil, nil); r.stdout != "err\r\n" || r.stderr != "" {
		t.Errorf("stdout %q, stderr %q; want err on stdout alone", r.stdout, r.stderr)
	}
}

func TestATTYStartsAtTheRequestedSizeAndFollowsResizes(t *testing.T) {
	// The command waits, without a deadline of its own, for the size to change.
	req := sh(`stty size; while [ "$(stty size)" = "24 80" ]; do sleep 0.02; done; stty size`)
	req.TTY, req.Rows, req.Cols = true, 24, 80
	resize := make(chan Size, 1)
	out := &lineSignal{lines: make(chan string, 4)}
	done := make(chan result, 1)
	go func() { done <- execute(t, req, Env{}, nil, out, resize) }()
	if first := <-out.lines; first != "24 80" {
		t.Fatalf("stty size printed %q at start, want 24 80", first)
	}
	resize <- Size{Rows: 50, Cols: 132}
	if after := <-out.lines; after != "50 132" {
		t.Errorf("stty size printed %q after the resize, want 50 132", after)
	}
	if r := <-done; r.status != 0 || r.err != nil {
		t.Errorf("status %d, %v", r.status, r.err)
	}
}

func TestTheEndOfStdinReachesACommandOnATTY(t *testing.T) {
	req := Request{Argv: []string{"cat"}, TTY: true, Stdin: true}
	r := execute(t, req, Env{}, strings.NewReader("typed\n"), nil, nil)
	if r.status != 0 || r.err != nil || !strings.Contains(r.stdout, "typed") {
		t.Errorf("cat on a TTY: status %d, %v, printed %q; want it to echo and end", r.status, r.err, r.stdout)
	}
}

func TestWithoutStdinATTYStillIsATerminal(t *testing.T) {
	req := sh("test -t 0")
	req.TTY = true
	if r := execute(t, req, Env{}, nil, nil, nil); r.status != 0 {
		t.Errorf("test -t 0 on a TTY without -i: status %d, want 0 (docker exec -t gives a terminal too)", r.status)
	}
}
