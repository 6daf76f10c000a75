package agent

import (
	"encoding/binary"
	"io"
)

// frames joins each yamux data frame's header and body into one write.
// yamux writes them apart, and each write to a virtio-serial port is a
// notification QEMU emulates and an interrupt on the other side: under
// TCG, the dependency path's requests cost half again as much.
//
// Only yamux's send loop writes, one goroutine: no lock.
type frames struct {
	io.ReadWriteCloser
	hdr     [headerSize]byte
	pending bool // hdr holds a data frame's header; its body comes next
	buf     []byte
}

// yamux's frame header: version, type, flags, stream id, length.
const (
	headerSize = 12
	typeData   = 0
)

func (f *frames) Write(p []byte) (int, error) {
	if f.pending {
		f.pending = false
		f.buf = append(append(f.buf[:0], f.hdr[:]...), p...)
		if _, err := f.ReadWriteCloser.Write(f.buf); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if len(p) == headerSize && p[1] == typeData && binary.BigEndian.Uint32(p[8:]) > 0 {
		copy(f.hdr[:], p)
		f.pending = true
		return len(p), nil
	}
	return f.ReadWriteCloser.Write(p)
}
