package balancer

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
)

// chunkSize is the buffer of each direction during the replay phase.
const chunkSize = 16 << 10

var chunks = sync.Pool{New: func() any { return new([chunkSize]byte) }}

// pipeReplaying is pipe with replay on an empty answer.
//
// Why: the fleet's targets are services in QEMU VMs with user-mode
// networking, whose ports QEMU forwards from the host. QEMU accepts every
// connection to a forwarded port itself, whether or not anything listens
// in the guest, and only then tries the guest; if the guest refuses
// (service down, crashed or still booting), or QEMU is killed mid-request,
// the client's connection is closed or reset without a byte of answer.
// Retrying the connect cannot help, since the connect succeeded. So until
// the backend's first byte the balancer keeps a copy of what the client
// sent (up to the replay limit), and if the backend closes or resets the
// connection, or a write to it fails, before answering anything, it
// connects to the next healthy target it has not tried and replays the
// copy there, half-close included, up to maxReplays times. The client
// sees one connection that was answered late.
//
// The trade-off is HAProxy's "retry-on empty-response": a backend that got
// the request and died (or simply closed) before answering may have acted
// on it, and the request is then processed twice. That is harmless for
// idempotent requests and wrong for some others; a service that cannot
// bear it should run with replay off (Options.NoReplay). A
// protocol in which a server legitimately closes without a word after the
// client has spoken is likewise sent to up to maxReplays+1 targets. A
// client that hangs up without sending anything is never replayed.
//
// How: the client side (clientSide) reads the client into the replay copy
// and writes each chunk to the current backend; this goroutine reads the
// backend. Both go through user space only until the backend's first byte
// (or until the client exceeds the limit): then each direction switches to
// io.Copy on the bare connections, which splices, and the bulk of a
// connection's bytes never see the replay machinery. Protocols in which
// the server speaks first work as before: there is nothing to replay, and
// the wait for the first byte is the normal read.
func (b *Balancer) pipeReplaying(ctx context.Context, pc *proxyConn, tried []*target) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		pc.clientSide(b.replayLimit)
	}()
	defer func() {
		<-done
		pc.writers.Wait()
	}()

	buf := chunks.Get().(*[chunkSize]byte)
	backend := pc.backend // only this goroutine changes it
	for replays := 0; ; {
		n, err := backend.Read(buf[:])
		if n > 0 {
			pc.commit()
			w, werr := pc.client.Write(buf[:n])
			pc.out.Add(int64(w))
			chunks.Put(buf)
			if werr != nil {
				pc.close()
				return
			}
			pc.out.Add(oneWay(pc, pc.client, backend))
			return
		}
		if err == nil {
			continue
		}
		if replays < maxReplays && b.replay(ctx, pc, &tried, backend) {
			replays++
			backend = pc.backend
			continue
		}
		// Nothing to replay, or nowhere to: as without replay, pass
		// the backend's EOF on, or tear down on an error.
		chunks.Put(buf)
		pc.commit()
		if !errors.Is(err, io.EOF) || closeWrite(pc.client) != nil {
			pc.close()
		}
		return
	}
}

// replay moves pc from failed, its backend that closed without answering,
// to a new backend on a target not tried yet, if pc can still be
// replayed. It reports whether it did.
func (b *Balancer) replay(ctx context.Context, pc *proxyConn, tried *[]*target, failed net.Conn) bool {
	pc.mu.Lock()
	ok := pc.replayableLocked()
	pc.mu.Unlock()
	if !ok {
		return false
	}
	// Also ends a client-side write blocked on it.
	failed.Close()
	return b.connect(ctx, tried, func(t *target, backend net.Conn) install { return b.move(t, pc, backend) })
}

// clientSide copies the client to the backend while replay is on: into
// the replay copy and to whichever backend is current, until the backend
// has answered or the client has sent too much to replay; from then on
// with io.Copy on the bare connections.
func (pc *proxyConn) clientSide(limit int) {
	buf := chunks.Get().(*[chunkSize]byte)
	for {
		n, err := pc.client.Read(buf[:])
		if n > 0 {
			pc.mu.Lock()
			final := pc.committed || pc.replayOff
			if !final && len(pc.sent)+n > limit {
				pc.replayOff, pc.sent, final = true, nil, true
			}
			if !final {
				pc.sent = append(pc.sent, buf[:n]...)
			}
			backend := pc.backend
			pc.mu.Unlock()

			pc.wmu.Lock()
			w, werr := backend.Write(buf[:n])
			pc.wmu.Unlock()
			pc.in.Add(int64(w))
			if final {
				// No replay can start any more, and holding wmu
				// above waited out any that was writing.
				chunks.Put(buf)
				if werr != nil {
					pc.close()
					return
				}
				pc.in.Add(oneWay(pc, backend, pc.client))
				return
			}
			// A failed write before any answer is the reading
			// side's to handle: the backend is gone, so its read
			// fails too, and it replays or gives up.
		}
		if err == nil {
			continue
		}
		chunks.Put(buf)
		if !errors.Is(err, io.EOF) {
			pc.close()
			return
		}
		pc.mu.Lock()
		pc.clientEOF = true
		final := pc.committed || pc.replayOff
		backend := pc.backend
		pc.mu.Unlock()
		pc.wmu.Lock()
		cerr := closeWrite(backend)
		pc.wmu.Unlock()
		if cerr != nil && final {
			pc.close()
		}
		return
	}
}
