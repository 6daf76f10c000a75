package consolelog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// maxPending bounds a line still being written: a guest that never sends a
// newline gets its output shown in pieces of this size.
const maxPending = 1 << 20

// Follower emits what a console log gains, whole lines only. It keeps the
// file open, so it finishes a file virtlogd has rotated away before it
// starts on the new one, and starts again from the top of a file truncated
// in place.
type Follower struct {
	path    string
	f       *os.File // nil until the log exists
	pos     int64    // where f is read on from
	pending []byte   // the start of a line whose end is not written yet
	buf     []byte
}

// Follow follows the log at path from its start.
func Follow(path string) *Follower { return &Follower{path: path} }

// Next emits the whole lines the log gained since the last call.
func (fl *Follower) Next(emit func(line []byte)) error {
	if fl.f == nil {
		f, err := os.Open(fl.path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("follow console log: %w", err)
		}
		fl.f, fl.pos = f, 0
	}
	// Look at the path before reading: once it names a new file, nothing
	// more is written to the old one, so read to its end is read whole.
	now, statErr := os.Stat(fl.path)
	held, err := fl.f.Stat()
	if err != nil {
		return fmt.Errorf("follow console log: %w", err)
	}
	if statErr == nil && os.SameFile(now, held) && now.Size() < fl.pos {
		// Truncated in place: its start is new.
		if _, err := fl.f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("follow console log: %w", err)
		}
		fl.pos, fl.pending = 0, nil
	}
	if err := fl.drain(emit); err != nil {
		return err
	}
	if statErr != nil || os.SameFile(now, held) {
		return nil // unchanged, or gone with its instance
	}
	// Rotated: the new file goes on from its start.
	fl.f.Close()
	fl.f = nil
	return fl.Next(emit)
}

// drain reads f to its end, emitting each line as its newline arrives.
func (fl *Follower) drain(emit func([]byte)) error {
	if fl.buf == nil {
		fl.buf = make([]byte, chunk)
	}
	for {
		n, err := fl.f.Read(fl.buf)
		fl.pos += int64(n)
		b := fl.buf[:n]
		for len(b) > 0 {
			nl := bytes.IndexByte(b, '\n')
			if nl < 0 {
				fl.pending = append(fl.pending, b...)
				break
			}
			if len(fl.pending) > 0 {
				emit(trimLine(append(fl.pending, b[:nl+1]...)))
				fl.pending = fl.pending[:0]
			} else {
				emit(trimLine(b[:nl+1]))
			}
			b = b[nl+1:]
		}
		if len(fl.pending) >= maxPending {
			emit(fl.pending)
			fl.pending = fl.pending[:0]
		}
		if errors.Is(err, io.EOF) || n == 0 && err == nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("follow console log: %w", err)
		}
	}
}

// Close lets go of the file.
func (fl *Follower) Close() error {
	if fl.f == nil {
		return nil
	}
	err := fl.f.Close()
	fl.f = nil
	return err
}
