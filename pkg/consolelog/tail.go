// Package consolelog reads an instance's console log the way `vmfleet logs`
// shows it: the last lines first, then what the log gains, whole lines
// only. It reads from the end, so a log of gigabytes costs what the lines
// shown cost, and it reads across one rotation as virtlogd makes them
// (console.log moved to console.log.0, the newest backup).
package consolelog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// chunk is how much is read at a time going back from the end.
const chunk = 64 << 10

// Backup is the newest rotated backup of the log at path.
func Backup(path string) string { return path + ".0" }

// Tail emits the last n whole lines of the log at path, or all of them
// when n < 0, going back into its newest backup when path holds fewer. The
// Follower it returns goes on right after them; the caller closes it. A
// log that does not exist yet has no lines, and its Follower waits for it.
func Tail(path string, n int, emit func(line []byte)) (*Follower, error) {
	cur, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Follower{path: path}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read console log: %w", err)
	}
	var parts joined
	if old, err := os.Open(Backup(path)); err == nil {
		defer old.Close()
		if fi, err := old.Stat(); err == nil {
			parts = append(parts, part{old, fi.Size()})
		}
	}
	fi, err := cur.Stat()
	if err != nil {
		cur.Close()
		return nil, fmt.Errorf("read console log: %w", err)
	}
	parts = append(parts, part{cur, fi.Size()})

	start, end, err := lastLines(parts, parts.size(), n)
	if err == nil {
		err = emitLines(io.NewSectionReader(parts, start, end-start), emit)
	}
	if err != nil {
		cur.Close()
		return nil, fmt.Errorf("read console log %s: %w", path, err)
	}
	// Go on after the last whole line: in the current file, or at its start
	// with the backup's unfinished last line pending.
	fl := &Follower{path: path, f: cur}
	if before := parts.size() - fi.Size(); end < before {
		fl.pending = make([]byte, before-end)
		if _, err := parts.ReadAt(fl.pending, end); err != nil {
			cur.Close()
			return nil, fmt.Errorf("read console log %s: %w", Backup(path), err)
		}
	} else {
		fl.pos = end - before
	}
	if _, err := cur.Seek(fl.pos, io.SeekStart); err != nil {
		cur.Close()
		return nil, fmt.Errorf("read console log: %w", err)
	}
	return fl, nil
}

// lastLines finds the last n whole lines of r's size bytes, reading back
// from the end a chunk at a time: they are r[start:end], end just past the
// last newline (what follows it is a line still being written). n < 0
// means every whole line.
func lastLines(r io.ReaderAt, size int64, n int) (start, end int64, err error) {
	buf := make([]byte, chunk)
	end, seen := -1, 0
	for pos := size; pos > 0; {
		b := buf[:min(chunk, pos)]
		pos -= int64(len(b))
		if _, err := r.ReadAt(b, pos); err != nil {
			return 0, 0, err
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != '\n' {
				continue
			}
			at := pos + int64(i) + 1
			if end < 0 {
				end = at // the last newline ends the last whole line
				if n < 0 {
					return 0, end, nil
				}
			} else {
				seen++
			}
			if seen == n {
				return at, end, nil
			}
		}
	}
	return 0, max(end, 0), nil
}

// emitLines emits each newline-ended line of r.
func emitLines(r io.Reader, emit func([]byte)) error {
	br := bufio.NewReaderSize(r, chunk)
	for {
		l, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: gather it whole.
			rest, err2 := br.ReadBytes('\n')
			l, err = append(append([]byte(nil), l...), rest...), err2
		}
		if len(l) > 0 && l[len(l)-1] == '\n' {
			emit(trimLine(l))
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// trimLine drops the newline, and the carriage return a serial console
// sends before it.
func trimLine(l []byte) []byte {
	return bytes.TrimSuffix(bytes.TrimSuffix(l, []byte("\n")), []byte("\r"))
}

// joined reads a rotated backup and the current file as one log.
type joined []part

type part struct {
	r    io.ReaderAt
	size int64 // as it was when Tail looked: the log grows as it is read
}

func (j joined) size() int64 {
	var n int64
	for _, p := range j {
		n += p.size
	}
	return n
}

func (j joined) ReadAt(b []byte, off int64) (int, error) {
	done := 0
	for _, p := range j {
		if len(b) == 0 {
			break
		}
		if off >= p.size {
			off -= p.size
			continue
		}
		k := min(int64(len(b)), p.size-off)
		n, err := p.r.ReadAt(b[:k], off)
		done += n
		if n < int(k) {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF // the file shrank under us
			}
			return done, err
		}
		b, off = b[k:], 0
	}
	if len(b) > 0 {
		return done, io.EOF
	}
	return done, nil
}
