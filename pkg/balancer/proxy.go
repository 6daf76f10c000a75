package balancer

import (
	"net"
	"slices"
)

// pick returns the next target in rotation that is not in tried, moving the
// cursor past it, or nil if every target in rotation has been tried.
func (b *Balancer) pick(tried []*target) *target {
	b.mu.Lock()
	defer b.mu.Unlock()
	for range len(b.rotation) {
		b.next %= len(b.rotation)
		t := b.rotation[b.next]
		b.next++
		if !slices.Contains(tried, t) {
			return t
		}
	}
	return nil
}

// attach records pc, now connected to t, as in flight on t. It refuses if
// t started draining during the dial: a draining target gets no new
// connections, however close the race.
func (b *Balancer) attach(t *target, pc *proxyConn, backend net.Conn) install {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return giveUp
	}
	if t.draining || t.removed {
		return tryNext
	}
	pc.mu.Lock()
	pc.backend, pc.target = backend, t
	pc.mu.Unlock()
	t.conns[pc] = struct{}{}
	t.total++
	return installed
}

// move makes backend, a new connection to t, pc's backend in place of the
// one that failed, moves pc from its old target's connections to t's, and
// starts replaying what the client has sent so far. Like attach it refuses
// a target that started draining; it gives up if pc has been closed or
// can no longer be replayed.
//
// It holds pc.wmu from here until the replay is written, so that whatever
// the client sends next reaches backend after the replayed bytes.
func (b *Balancer) move(t *target, pc *proxyConn, backend net.Conn) install {
	pc.wmu.Lock()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		pc.wmu.Unlock()
		return giveUp
	}
	if t.draining || t.removed {
		b.mu.Unlock()
		pc.wmu.Unlock()
		return tryNext
	}
	pc.mu.Lock()
	if !pc.replayableLocked() {
		pc.mu.Unlock()
		b.mu.Unlock()
		pc.wmu.Unlock()
		return giveUp
	}
	from := pc.target
	pc.backend, pc.target = backend, t
	// Cap the slice so that the client side's next append copies instead
	// of writing next to the bytes being replayed.
	replay := pc.sent[:len(pc.sent):len(pc.sent)]
	pc.sent = replay
	clientEOF := pc.clientEOF
	pc.mu.Unlock()
	delete(from.conns, pc)
	from.replays++
	from.closeDrainedIfIdle()
	t.conns[pc] = struct{}{}
	b.mu.Unlock()

	b.log.Debug("target closed the connection before answering; replaying it on the next target",
		"from", from.addr, "to", t.addr, "bytes", len(replay), "client_eof", clientEOF)
	pc.writers.Add(1)
	go func() {
		defer pc.writers.Done()
		defer pc.wmu.Unlock()
		// A failure shows up on the read side, which replays again or
		// gives up.
		if len(replay) > 0 {
			if _, err := backend.Write(replay); err != nil {
				return
			}
		}
		if clientEOF {
			closeWrite(backend)
		}
	}()
	return installed
}

// detach removes pc from the target it is in flight on.
func (b *Balancer) detach(pc *proxyConn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := pc.target
	delete(t.conns, pc)
	t.bytesIn += pc.in.Load()
	t.bytesOut += pc.out.Load()
	t.closeDrainedIfIdle()
}

// closeDrainedIfIdle must be called with Balancer.mu held.
func (t *target) closeDrainedIfIdle() {
	if !t.draining || len(t.conns) > 0 {
		return
	}
	select {
	case <-t.drained:
	default:
		close(t.drained)
	}
}
