package guestexec

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Run is the host end. It sends req, forwards stdin (when req.Stdin; a nil
// stdin is empty) and every size from resize (may be nil), copies the
// command's output to stdout and stderr, and returns its exit status:
// 128+N for a command killed by signal N, as a shell reports it.
//
// A command the guest could not start comes back as its status (127 not
// found, 126 cannot run) with an error that says why and has an ExitCode
// method. Any other error has status -1. Cancelling ctx closes the stream,
// and the guest kills the command. Run closes conn before it returns; it
// does not wait for a read of stdin that is still blocked (a terminal's
// cannot be interrupted).
func Run(ctx context.Context, conn io.ReadWriteCloser, req Request, stdin io.Reader, stdout, stderr io.Writer, resize <-chan Size) (int, error) {
	defer conn.Close()
	if err := req.Validate(); err != nil {
		return -1, err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	fw := newFrameWriter(conn)
	if err := fw.request(req); err != nil {
		return -1, cancelled(ctx, fmt.Errorf("send the exec request: %w", err))
	}
	done := make(chan struct{})
	defer close(done)
	if req.Stdin {
		go sendStdin(fw, stdin)
	}
	if resize != nil {
		go sendResizes(fw, resize, done)
	}
	status, err := receive(bufio.NewReader(conn), orDiscard(stdout), orDiscard(stderr))
	return status, cancelled(ctx, err)
}

// Validate says what is wrong with a request the guest would refuse.
func (r Request) Validate() error {
	if len(r.Argv) == 0 || r.Argv[0] == "" {
		return errors.New("exec: no command to run; name one, e.g. -- /bin/sh")
	}
	for _, kv := range r.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("exec: environment entry %q is not KEY=VALUE", kv)
		}
	}
	return nil
}

// cancelled says the caller ended it, rather than how the stream broke.
func cancelled(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("exec: %w", ctx.Err())
	}
	return err
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// sendStdin forwards stdin until it ends, then says so: the command then
// reads EOF. A failed write means the stream is gone; Run reports that.
func sendStdin(fw *frameWriter, stdin io.Reader) {
	if stdin != nil {
		buf := make([]byte, chunk)
		for {
			n, err := stdin.Read(buf)
			if n > 0 {
				if fw.write(kindStdin, buf[:n]) != nil {
					return
				}
			}
			if err != nil {
				break // EOF or not, the command's stdin ends here
			}
		}
	}
	_ = fw.write(kindStdinClose, nil)
}

func sendResizes(fw *frameWriter, resize <-chan Size, done <-chan struct{}) {
	for {
		select {
		case s, ok := <-resize:
			if !ok || fw.write(kindResize, encodeSize(s)) != nil {
				return
			}
		case <-done:
			return
		}
	}
}

// receive copies output until the exit frame.
func receive(r *bufio.Reader, stdout, stderr io.Writer) (int, error) {
	var why string
	for {
		k, p, err := readFrame(r)
		if errors.Is(err, io.EOF) {
			return -1, errors.New("the guest closed the exec stream before sending the command's exit status")
		}
		if err != nil {
			return -1, fmt.Errorf("read the command's output: %w", err)
		}
		switch k {
		case kindStdout:
			if _, err := stdout.Write(p); err != nil {
				return -1, fmt.Errorf("write the command's output: %w", err)
			}
		case kindStderr:
			if _, err := stderr.Write(p); err != nil {
				return -1, fmt.Errorf("write the command's error output: %w", err)
			}
		case kindError:
			why = string(p)
		case kindExit:
			status, err := decodeStatus(p)
			if err != nil {
				return -1, err
			}
			if why != "" {
				return status, &StartError{Status: status, Message: why}
			}
			return status, nil
		default:
			return -1, fmt.Errorf("the guest sent a %s frame; it speaks another version of %s", k, Protocol)
		}
	}
}

// StartError is the guest's word that it could not start the command.
// Status is what a shell exits with for it: 127 not found, 126 cannot run.
type StartError struct {
	Status  int
	Message string
}

func (e *StartError) Error() string { return e.Message }

// ExitCode lets a CLI exit with the status a shell would.
func (e *StartError) ExitCode() int { return e.Status }
