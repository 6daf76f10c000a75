package guestexec

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
)

func TestAFrameOverTheLimitIsRefusedBeforeItIsRead(t *testing.T) {
	h := binary.BigEndian.AppendUint32([]byte{byte(kindStdout)}, 1<<31)
	_, _, err := readFrame(bufio.NewReader(bytes.NewReader(h)))
	if err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("a 2 GiB frame: %v, want a refusal that names the limit", err)
	}
}

func TestATruncatedFrameIsAnError(t *testing.T) {
	var buf bytes.Buffer
	if err := newFrameWriter(&buf).write(kindStdout, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	_, _, err := readFrame(bufio.NewReader(bytes.NewReader(buf.Bytes()[:buf.Len()-1])))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a frame one byte short: %v, want unexpected EOF", err)
	}
}

func TestNoFrameFollowsTheExitStatus(t *testing.T) {
	var buf bytes.Buffer
	fw := newFrameWriter(&buf)
	if err := fw.exit(0, ""); err != nil {
		t.Fatal(err)
	}
	if err := fw.write(kindStdout, []byte("late")); !errors.Is(err, errFinished) {
		t.Errorf("output after the exit frame: %v, want it refused", err)
	}
}

func TestAGuestGivesAHostSpeakingAnotherProtocolAClearError(t *testing.T) {
	host, guest := net.Pipe()
	served := make(chan error, 1)
	go func() { served <- Serve(context.Background(), guest, Env{}) }()
	if err := newFrameWriter(host).write(kindStdin, []byte("no request first")); err != nil {
		t.Fatal(err)
	}
	status, err := receive(bufio.NewReader(host), nil, nil)
	if status != 126 || err == nil || !strings.Contains(err.Error(), "stdin frame first") {
		t.Errorf("host: status %d, %v; want 126 and why", status, err)
	}
	if err := <-served; err == nil {
		t.Error("Serve returned nil for a stream that did not start with a request")
	}
}

func TestAGuestThatHangsUpBeforeTheExitStatusIsAnError(t *testing.T) {
	host, guest := net.Pipe()
	go func() {
		_, _, _ = readFrame(bufio.NewReader(guest))
		guest.Close()
	}()
	status, err := Run(context.Background(), host, Request{Argv: []string{"true"}}, nil, nil, nil, nil)
	if status != -1 || err == nil || !strings.Contains(err.Error(), "exit status") {
		t.Errorf("status %d, %v; want -1 and an error about the missing exit status", status, err)
	}
}

func TestRunRefusesARequestWithoutACommandBeforeSendingIt(t *testing.T) {
	host, guest := net.Pipe()
	defer guest.Close()
	// Nothing reads guest: a Run that sent the request would block.
	if _, err := Run(context.Background(), host, Request{}, nil, nil, nil, nil); err == nil {
		t.Error("Run with no argv: nil error")
	}
}

func TestAnEnvironmentEntryMustBeKeyEqualsValue(t *testing.T) {
	for _, kv := range []string{"NOVALUE", "=x"} {
		req := Request{Argv: []string{"true"}, Env: []string{"OK=1", kv}}
		if err := req.Validate(); err == nil || !strings.Contains(err.Error(), kv) {
			t.Errorf("Env %q: %v, want an error naming it", kv, err)
		}
	}
	if err := (Request{Argv: []string{"true"}, Env: []string{"EMPTY="}}).Validate(); err != nil {
		t.Errorf("EMPTY=: %v, want it allowed", err)
	}
}
