package guestexec

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
)

// Serve is the guest end: it reads one request from conn, runs the command
// in e, streams its input and output, sends its exit status and closes
// conn. If the stream breaks first (or ctx ends), it kills the command and
// everything it started, and says so in its error. A command that cannot
// start is the host's to report: Serve sends why, and returns nil.
func Serve(ctx context.Context, conn io.ReadWriteCloser, e Env) error {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	r := bufio.NewReader(conn)
	fw := newFrameWriter(conn)
	req, err := readRequest(r)
	if err != nil {
		_ = fw.exit(126, err.Error()) // a host that sent nonsense may still be listening
		return err
	}
	runCtx, kill := context.WithCancelCause(ctx)
	defer kill(nil)
	p, se := start(runCtx, req, e, fw, kill)
	if se != nil {
		if err := fw.exit(se.Status, se.Message); err != nil {
			return fmt.Errorf("report that %s could not start: %w", req.Argv[0], err)
		}
		return nil
	}
	inputDone := make(chan struct{})
	go func() {
		defer close(inputDone)
		kill(p.input(r))
	}()
	status := p.wait()
	broke := context.Cause(runCtx) // before our Close below ends the input too
	err = fw.exit(status, "")
	conn.Close()
	<-inputDone
	switch {
	case broke != nil:
		return fmt.Errorf("exec %s: killed it: %w", req.Argv[0], broke)
	case err != nil:
		return fmt.Errorf("exec %s: send its exit status %d: %w", req.Argv[0], status, err)
	}
	return nil
}

// input feeds the host's frames to the command until the stream ends,
// which, as the host never closes it before the exit status, means it
// broke. A command that no longer reads its stdin has it discarded.
func (p *process) input(r *bufio.Reader) error {
	stdin := p.stdin
	for {
		k, b, err := readFrame(r)
		if errors.Is(err, io.EOF) {
			return errors.New("the host closed the exec stream")
		}
		if err != nil {
			return fmt.Errorf("read the host's input: %w", err)
		}
		switch k {
		case kindStdin:
			if stdin != nil && write(stdin, b) != nil {
				stdin = nil
			}
		case kindStdinClose:
			if stdin != nil {
				_ = stdin.Close()
				stdin = nil
			}
		case kindResize:
			s, err := decodeSize(b)
			if err != nil {
				return err
			}
			_ = p.resize(s) // a terminal already gone needs no size
		default:
			return fmt.Errorf("the host sent a %s frame; it speaks another version of %s", k, Protocol)
		}
	}
}

func write(w io.Writer, b []byte) error {
	_, err := w.Write(b)
	return err
}
