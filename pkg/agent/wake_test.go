package agent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// portPair plays QEMU's chardev: the host dials a unix socket, and the
// guest's end of the port is the accepted connection (which, like a
// virtio-serial port, can time out its reads).
func portPair(t *testing.T) (sock string, guest <-chan net.Conn) {
	t.Helper()
	sock = filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			ch <- c
		}
	}()
	return sock, ch
}

func TestACloneTakesTheWakeTheHostHandsIt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sock, guest := portPair(t)
	got := make(chan Wake, 1)
	errs := make(chan error, 1)
	go func() {
		conn := <-guest
		w, err := AwaitWake(ctx, func() (io.ReadWriteCloser, error) { return conn, nil })
		errs <- err
		got <- w
	}()
	// A config far longer than a protocol line: env and metadata.
	config := []byte(`{"service":"web","env":["BIG=` + strings.Repeat("x", 64<<10) + `"]}`)
	want := Wake{Time: time.Unix(1700000000, 42).UTC(), Seed: []byte("sixty-four bytes of entropy, or so"), Config: config}
	if err := WakeClone(ctx, sock, want); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	w := <-got
	if !w.Time.Equal(want.Time) || !bytes.Equal(w.Seed, want.Seed) || !bytes.Equal(w.Config, want.Config) {
		t.Errorf("guest woke with %+v, want %+v", w, want)
	}
}

func TestATemplateIsReadyOnceItsGuestWaitsForAWake(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sock, guest := portPair(t)
	go func() {
		conn := <-guest
		// A guest that keeps waiting: it is saved in this state.
		AwaitWake(ctx, func() (io.ReadWriteCloser, error) { return conn, nil })
	}()
	conn, err := AwaitReady(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
}

func TestAGuestWhosePortCannotTimeOutRefusesToWait(t *testing.T) {
	type plain struct{ io.ReadWriteCloser }
	a, b := net.Pipe()
	defer b.Close()
	_, err := AwaitWake(context.Background(), func() (io.ReadWriteCloser, error) { return plain{a}, nil })
	if err == nil {
		t.Fatal("AwaitWake waited on a port whose reads cannot time out")
	}
}

func TestAWakeWithoutAnAcknowledgementFails(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	sock, guest := portPair(t)
	go func() {
		conn := <-guest
		io.Copy(io.Discard, conn) // a guest that reads and never answers
	}()
	if err := WakeClone(ctx, sock, Wake{Seed: []byte{1}}); err == nil {
		t.Fatal("WakeClone returned without the guest's acknowledgement")
	}
}

// keepOpen is a guest port that survives its Close: a virtio-serial port
// the guest closes and opens again is one host connection.
type keepOpen struct{ net.Conn }

func (keepOpen) Close() error { return nil }

func TestASpareIsStagedAndThenWokenOnOneConnection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sock, guest := portPair(t)
	woke := make(chan Wake, 2)
	go func() {
		conn := keepOpen{<-guest}
		for range 2 {
			w, err := AwaitWake(ctx, func() (io.ReadWriteCloser, error) { return conn, nil })
			if err != nil {
				return
			}
			woke <- w
		}
	}()
	conn, err := StageClone(ctx, sock, Wake{Seed: []byte{1}, Stage: true})
	if err != nil {
		t.Fatal(err)
	}
	// StageClone returned once the guest waited again: it has its stage
	// wake and is saying ready on the same connection.
	if w := <-woke; !w.Stage {
		t.Errorf("the guest was staged with %+v", w)
	}
	if _, err := fmt.Fprintf(conn, "%s\n", `{"seed":"Ag=="}`); err != nil {
		t.Fatal(err)
	}
	if err := expectLine(conn, awakeLine); err != nil {
		t.Fatal(err)
	}
	if w := <-woke; w.Stage || len(w.Seed) != 1 || w.Seed[0] != 2 {
		t.Errorf("the guest's second wake is %+v", w)
	}
	conn.Close()
}
