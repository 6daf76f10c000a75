package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

// Before a template guest is saved, and before each clone restored from
// it goes on, the port carries a few lines instead of a session. The
// guest says "ready" every readyEvery, as a line written while no host
// listens is lost; the host of a template waits for one, the host of a
// clone writes one Wake at once, and the guest says "awake" once it has
// taken the Wake in. A template is saved while it waits for its Wake.
const (
	readyLine  = "ready"
	awakeLine  = "awake"
	readyEvery = 100 * time.Millisecond
	// noHostPause is the wait after reading EOF: a port with no host
	// connected reads as EOF at once.
	noHostPause = 5 * time.Millisecond
)

// Wake is what a clone must not share with its template or its siblings:
// it learns it before it reads anything of its own.
type Wake struct {
	// Time is the host's clock: a template's clock stopped when it was saved.
	Time time.Time `json:"time"`
	// Seed is fresh entropy: every clone starts with its template's
	// random number generator.
	Seed []byte `json:"seed"`
	// Config is the clone's own guest config (guestconfig's encoding):
	// the one its QEMU read into fw_cfg at start may predate the instance.
	Config json.RawMessage `json:"config,omitempty"`
	// Stage wakes a spare: it goes as far as its own disk and network
	// take it (Config is a stand-in for their sake), then waits for the
	// Wake of the instance it becomes.
	Stage bool `json:"stage,omitempty"`
}

// maxWake bounds the Wake a guest reads: the host is trusted, but a
// broken stream must not grow without end.
const maxWake = 1 << 20

// AwaitReady connects to a template guest's port and returns once the
// guest waits for its Wake, with the connection still open: close it
// after the guest is saved, so the saved guest is blocked on its read.
func AwaitReady(ctx context.Context, socket string) (net.Conn, error) {
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "unix", socket)
		if err == nil {
			stop := context.AfterFunc(ctx, func() { conn.Close() })
			err = expectLine(conn, readyLine)
			stop()
			if err == nil {
				return conn, nil
			}
			conn.Close()
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("wait for the template guest to be ready: %w (last: %v)", ctx.Err(), err)
		}
		sleep(ctx, 50*time.Millisecond)
	}
}

// WakeClone hands a restored guest its Wake and waits until the guest has
// taken it in.
func WakeClone(ctx context.Context, socket string, w Wake) error {
	conn, err := wakeOn(ctx, socket, w)
	if err != nil {
		return err
	}
	return conn.Close()
}

// StageClone hands a spare its staging Wake (w.Stage) and waits, on the
// same connection, until it waits for its next one; it returns with the
// connection open, as AwaitReady does. (A second connection made as the
// first closes can find QEMU's socket not yet listening again.)
func StageClone(ctx context.Context, socket string, w Wake) (net.Conn, error) {
	conn, err := wakeOn(ctx, socket, w)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	err = expectLine(conn, readyLine)
	stop()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("stage the spare: %w", wrapCtx(ctx, err))
	}
	return conn, nil
}

// wakeOn connects, sends w and waits for the guest's acknowledgement.
func wakeOn(ctx context.Context, socket string, w Wake) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, fmt.Errorf("wake the clone: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	fail := func(err error) (net.Conn, error) {
		conn.Close()
		return nil, fmt.Errorf("wake the clone: %w", wrapCtx(ctx, err))
	}
	b, err := json.Marshal(w)
	if err != nil {
		return fail(err)
	}
	if _, err := conn.Write(append(b, '\n')); err != nil {
		return fail(err)
	}
	if err := expectLine(conn, awakeLine); err != nil {
		return fail(err)
	}
	return conn, nil
}

// expectLine reads lines until want; the guest may have said ready more
// than once before the host read it.
func expectLine(r io.Reader, want string) error {
	for {
		line, err := readLine(r)
		if err != nil {
			return err
		}
		if line == want {
			return nil
		}
		if line != readyLine {
			return fmt.Errorf("the guest said %q, not %q", line, want)
		}
	}
}

func wrapCtx(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// deadliner is a port whose reads can time out (an *os.File on a
// virtio-serial port can).
type deadliner interface {
	SetReadDeadline(t time.Time) error
}

// AwaitWake is the guest's side: it says ready on the port until a host
// answers with a Wake, and acknowledges it. The port is closed on return,
// ready for the session that follows. The port must support read
// deadlines, or a host that connects between a lost "ready" and the next
// read would wait for one forever.
func AwaitWake(ctx context.Context, open func() (io.ReadWriteCloser, error)) (Wake, error) {
	port, err := open()
	if err != nil {
		return Wake{}, fmt.Errorf("open the agent port: %w", err)
	}
	defer port.Close()
	dl, ok := port.(deadliner)
	if !ok {
		return Wake{}, errors.New("the agent port cannot time out its reads")
	}
	var pending []byte
	buf := make([]byte, 4<<10)
	for ctx.Err() == nil {
		if _, err := io.WriteString(port, readyLine+"\n"); err != nil {
			sleep(ctx, noHostPause)
			continue
		}
		if err := dl.SetReadDeadline(time.Now().Add(readyEvery)); err != nil {
			return Wake{}, fmt.Errorf("read the wake: %w", err)
		}
		for ctx.Err() == nil {
			n, err := port.Read(buf)
			pending = append(pending, buf[:n]...)
			if i := bytes.IndexByte(pending, '\n'); i >= 0 {
				var w Wake
				if err := json.Unmarshal(pending[:i], &w); err != nil {
					return Wake{}, fmt.Errorf("wake %q: %w", pending[:i], err)
				}
				if _, err := io.WriteString(port, awakeLine+"\n"); err != nil {
					return Wake{}, fmt.Errorf("acknowledge the wake: %w", err)
				}
				return w, nil
			}
			if len(pending) > maxWake {
				return Wake{}, errors.New("read the wake: line too long")
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break // say ready again
			}
			if errors.Is(err, io.EOF) || n == 0 {
				// No host: what it sent so far (nothing whole) is void.
				pending = pending[:0]
				sleep(ctx, noHostPause)
				break
			}
			if err != nil {
				return Wake{}, fmt.Errorf("read the wake: %w", err)
			}
		}
	}
	return Wake{}, ctx.Err()
}
