// Package guestexec is the wire protocol of `vmfleet exec` and both of its
// ends: Run on the host, Serve in the guest's init. One bidirectional
// stream carries one command. The host sends the request, then stdin and
// window sizes; the guest sends output, then the exit status, and closes
// the stream. Nothing precedes the request and nothing acknowledges it, so
// a command that prints nothing costs one round trip.
//
// Every message is a frame: a kind byte, a big-endian uint32 payload
// length, the payload.
package guestexec

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Protocol names this protocol in the HTTP Upgrade header the client sends
// and the daemon answers with.
const Protocol = "vmfleet-exec"

// Request is the command to run, the first frame on the stream.
type Request struct {
	Argv    []string `json:"argv"`
	Env     []string `json:"env,omitempty"` // KEY=VALUE added to (and overriding) the service's environment
	WorkDir string   `json:"workdir,omitempty"`
	TTY     bool     `json:"tty,omitempty"`   // a pty in the guest: stdout and stderr merged, as docker does
	Stdin   bool     `json:"stdin,omitempty"` // forward stdin; otherwise the command reads /dev/null
	Rows    uint16   `json:"rows,omitempty"`  // the pty's size at start (TTY only; 0 leaves it unset)
	Cols    uint16   `json:"cols,omitempty"`
}

// Size is a terminal's size in characters.
type Size struct{ Rows, Cols uint16 }

type kind byte

const (
	kindRequest    kind = iota + 1 // host: JSON Request
	kindStdin                      // host: bytes for the command's stdin
	kindStdinClose                 // host: stdin ended
	kindStdout                     // guest: bytes the command wrote (all of it with a TTY)
	kindStderr                     // guest: bytes the command wrote to stderr
	kindResize                     // host: rows, cols as two big-endian uint16
	kindExit                       // guest: the exit status, big-endian int32; the last frame
	kindError                      // guest: why the command could not run, before its exit frame
)

func (k kind) String() string {
	names := [...]string{"", "request", "stdin", "stdin-close", "stdout", "stderr", "resize", "exit", "error"}
	if int(k) < len(names) && k != 0 {
		return names[k]
	}
	return fmt.Sprintf("unknown (%d)", byte(k))
}

const headerLen = 5

// maxPayload bounds a frame: a request with a large environment fits, a
// corrupt length cannot make the reader allocate gigabytes.
const maxPayload = 1 << 20

// chunk is the most stdin or output one frame carries, so that a resize
// or the other output stream is never stuck behind megabytes.
const chunk = 32 << 10

// errFinished refuses frames after the exit frame: output still trickling
// from a command's background children must not follow its status.
var errFinished = errors.New("the exit status was sent")

// readFrame reads one whole frame.
func readFrame(r *bufio.Reader) (kind, []byte, error) {
	var h [headerLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(h[1:])
	if n > maxPayload {
		return 0, nil, fmt.Errorf("a %s frame of %d bytes is over the %d-byte limit; both ends must speak %s", kind(h[0]), n, maxPayload, Protocol)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return 0, nil, fmt.Errorf("read a %s frame: %w", kind(h[0]), noEOF(err))
	}
	return kind(h[0]), p, nil
}

// noEOF turns an EOF inside a frame into the truncation it is.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// frameWriter writes whole frames, each in one Write (one packet, one
// yamux frame), for the goroutines that share the stream.
type frameWriter struct {
	mu       sync.Mutex
	w        io.Writer
	buf      []byte
	finished bool
}

func newFrameWriter(w io.Writer) *frameWriter { return &frameWriter{w: w} }

func (fw *frameWriter) write(k kind, p []byte) error {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.finished {
		return errFinished
	}
	fw.buf = binary.BigEndian.AppendUint32(append(fw.buf[:0], byte(k)), uint32(len(p)))
	fw.buf = append(fw.buf, p...)
	if _, err := fw.w.Write(fw.buf); err != nil {
		return fmt.Errorf("write a %s frame: %w", k, err)
	}
	return nil
}

func (fw *frameWriter) request(req Request) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode the exec request: %w", err)
	}
	return fw.write(kindRequest, body)
}

func readRequest(r *bufio.Reader) (Request, error) {
	var req Request
	k, p, err := readFrame(r)
	if err != nil {
		return req, fmt.Errorf("read the exec request: %w", err)
	}
	if k != kindRequest {
		return req, fmt.Errorf("read the exec request: got a %s frame first; the host speaks another version of %s", k, Protocol)
	}
	if err := json.Unmarshal(p, &req); err != nil {
		return req, fmt.Errorf("read the exec request: %w", err)
	}
	return req, nil
}

// exit sends the status, after an error frame when msg is not "", and
// refuses every frame after it.
func (fw *frameWriter) exit(status int, msg string) error {
	if msg != "" {
		if err := fw.write(kindError, []byte(msg)); err != nil {
			return err
		}
	}
	err := fw.write(kindExit, binary.BigEndian.AppendUint32(nil, uint32(int32(status))))
	fw.mu.Lock()
	fw.finished = true
	fw.mu.Unlock()
	return err
}

// stream is an io.Writer of one kind of data frame, split into chunks.
// broke hears about the first failed write (the guest kills the command).
type stream struct {
	fw    *frameWriter
	kind  kind
	broke func(error)
}

func (s stream) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), chunk)
		if err := s.fw.write(s.kind, p[:n]); err != nil {
			if s.broke != nil {
				s.broke(err)
			}
			return written, err
		}
		written += n
		p = p[n:]
	}
	return written, nil
}

func encodeSize(s Size) []byte {
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, s.Rows), s.Cols)
}

func decodeSize(p []byte) (Size, error) {
	if len(p) != 4 {
		return Size{}, fmt.Errorf("a resize frame holds 4 bytes, not %d", len(p))
	}
	return Size{Rows: binary.BigEndian.Uint16(p), Cols: binary.BigEndian.Uint16(p[2:])}, nil
}

func decodeStatus(p []byte) (int, error) {
	if len(p) != 4 {
		return -1, fmt.Errorf("an exit frame holds 4 bytes, not %d", len(p))
	}
	return int(int32(binary.BigEndian.Uint32(p))), nil
}
