package balancer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

// Listen binds addr and serves on it in the background until ctx ends or
// the balancer is closed; it returns the bound address.
//
// An address without a host (":8080") binds 127.0.0.1, not every
// interface: the fleet's services live on one machine and are reached
// locally, so exposing one to the network has to be asked for by naming
// the host ("0.0.0.0:8080").
func (b *Balancer) Listen(ctx context.Context, addr string) (net.Addr, error) {
	addr, err := ListenAddr(addr)
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return b.Start(ctx, ln)
}

// ListenAddr is addr with a missing host made 127.0.0.1: nothing is
// exposed beyond the machine unless asked.
func ListenAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("listen %q: %w", addr, err)
	}
	if host == "" {
		addr = net.JoinHostPort(limits.DefaultListenHost, port)
	}
	return addr, nil
}

// Start serves connections from ln, a listener made elsewhere (one a
// supervisor keeps open across restarts), until ctx ends or Close.
func (b *Balancer) Start(ctx context.Context, ln net.Listener) (net.Addr, error) {
	b.mu.Lock()
	if b.refusing() {
		b.mu.Unlock()
		ln.Close()
		return nil, fmt.Errorf("listen %s: %w", ln.Addr(), ErrClosed)
	}
	b.wg.Add(1)
	b.mu.Unlock()
	go func() {
		defer b.wg.Done()
		if err := b.Serve(ctx, ln); err != nil {
			b.log.Error("balancer stopped serving", "addr", ln.Addr(), "err", err)
		}
	}()
	return ln.Addr(), nil
}

// Serve accepts connections on ln and proxies each to a healthy target
// until ctx ends or the balancer is closed; then it closes ln and every
// connection it accepted, and returns nil once they are finished. It
// returns an error if accepting fails for good. Serve closes ln.
func (b *Balancer) Serve(ctx context.Context, ln net.Listener) error {
	b.mu.Lock()
	if b.refusing() {
		b.mu.Unlock()
		ln.Close()
		return fmt.Errorf("serve on %s: %w", ln.Addr(), ErrClosed)
	}
	b.wg.Add(1)
	b.mu.Unlock()
	defer b.wg.Done()

	b.serving.Add(1)
	defer b.serving.Done()
	// Accepting stops when ctx ends, at Close or at Shutdown; the
	// connections in flight go on until ctx ends or Close, so a Shutdown
	// lets them finish.
	connCtx, cancel := context.WithCancel(ctx)
	stopOnClose := context.AfterFunc(b.ctx, cancel)
	defer stopOnClose()
	acceptCtx, stopAccept := context.WithCancel(ctx)
	defer stopAccept()
	stopAcceptOnClose := context.AfterFunc(b.ctx, stopAccept)
	defer stopAcceptOnClose()
	stopOnShutdown := context.AfterFunc(b.accepting, stopAccept)
	defer stopOnShutdown()
	// Closing the listener is what unblocks Accept.
	stopListener := context.AfterFunc(acceptCtx, func() { ln.Close() })
	defer stopListener()

	var conns sync.WaitGroup
	err := b.acceptLoop(acceptCtx, connCtx, ln, &conns)
	stopAccept()
	ln.Close()
	conns.Wait()
	cancel()
	return err
}

func (b *Balancer) acceptLoop(ctx, connCtx context.Context, ln net.Listener, conns *sync.WaitGroup) error {
	// 5 ms, doubling to 1 s, without jitter.
	wait := &backoff.ExponentialBackOff{InitialInterval: 5 * time.Millisecond, Multiplier: 2, MaxInterval: time.Second}
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// Running out of file descriptors passes; wait a little
			// instead of spinning or giving up, as net/http does.
			var te interface{ Temporary() bool }
			if errors.As(err, &te) && te.Temporary() {
				d := wait.NextBackOff()
				b.log.Warn("accept failed; retrying", "addr", ln.Addr(), "err", err, "in", d)
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(d):
				}
				continue
			}
			return fmt.Errorf("accept on %s: %w", ln.Addr(), err)
		}
		wait.Reset()
		conns.Add(1)
		go func() {
			defer conns.Done()
			b.handle(connCtx, c)
		}()
	}
}

// proxyConn is one client connection and, once dialed, its backend.
//
// Lock order: wmu, then Balancer.mu, then mu.
type proxyConn struct {
	client net.Conn
	// in (client to backend) and out count the bytes copied.
	in, out atomic.Int64

	// wmu serializes writes to the backend while a replay may still
	// happen, so that replayed bytes and new ones stay in order; writers
	// counts replay goroutines.
	wmu     sync.Mutex
	writers sync.WaitGroup

	mu      sync.Mutex
	backend net.Conn // the current backend; set by attach and move
	target  *target  // its target; written with Balancer.mu held too
	closed  bool
	// Replay state, used only while replay is on (see pipeReplaying).
	sent      []byte // what the client sent, while not committed
	replayOff bool   // the client sent more than the replay limit
	clientEOF bool   // the client has half-closed
	committed bool   // the backend has answered, or replay is over
}

// close tears down both sides; it may be called from any goroutine and any
// number of times.
func (pc *proxyConn) close() { pc.closeIf(nil) }

// closeIf closes pc if it is in flight on t, or whatever its target if t
// is nil.
func (pc *proxyConn) closeIf(t *target) {
	pc.mu.Lock()
	if pc.closed || (t != nil && pc.target != t) {
		pc.mu.Unlock()
		return
	}
	pc.closed = true
	backend := pc.backend
	pc.mu.Unlock()
	pc.client.Close()
	if backend != nil {
		backend.Close()
	}
}

// replayableLocked reports whether pc may still move to another backend.
// A client that hung up without sending anything has nothing to replay:
// the backend closing too is the expected answer.
func (pc *proxyConn) replayableLocked() bool {
	return !pc.closed && !pc.committed && !pc.replayOff && !(pc.clientEOF && len(pc.sent) == 0)
}

// commit ends the replay phase: the current backend is pc's for good.
func (pc *proxyConn) commit() {
	pc.mu.Lock()
	pc.committed = true
	pc.sent = nil
	pc.mu.Unlock()
}

func (b *Balancer) handle(ctx context.Context, client net.Conn) {
	pc := &proxyConn{client: client}
	var tried []*target
	if !b.connect(ctx, &tried, func(t *target, backend net.Conn) install { return b.attach(t, pc, backend) }) {
		b.log.Debug("no healthy target answered; closing client", "client", client.RemoteAddr(), "tried", len(tried))
		client.Close()
		return
	}
	defer b.detach(pc)
	stop := context.AfterFunc(ctx, pc.close)
	defer stop()
	if b.replayLimit < 0 {
		pipe(pc)
	} else {
		b.pipeReplaying(ctx, pc, tried)
	}
	pc.close()
}

// install is what happens to a freshly dialed backend.
type install int

const (
	installed install = iota // it is the connection's backend now
	tryNext                  // its target is draining: dial the next one
	giveUp                   // the connection is closed or cannot move
)

// connect dials targets in rotation order, skipping those in *tried and
// adding those it dials, until one answers and use installs it, so that a
// dead target costs the client a retry rather than its connection. A
// failed dial is not held against the target (the health check decides
// that); the cursor simply moves on, so the next client starts with the
// following target. It reports whether a backend was installed.
func (b *Balancer) connect(ctx context.Context, tried *[]*target, use func(*target, net.Conn) install) bool {
	for {
		t := b.pick(*tried)
		if t == nil {
			return false
		}
		*tried = append(*tried, t)
		backend, err := b.dialer.DialContext(ctx, "tcp", t.addr)
		if err != nil {
			if ctx.Err() != nil {
				return false
			}
			b.log.Debug("dial target failed; trying next", "target", t.addr, "err", err)
			continue
		}
		switch use(t, backend) {
		case installed:
			return true
		case giveUp:
			backend.Close()
			return false
		}
		backend.Close()
	}
}

// pipe copies both ways between the client and the backend until both
// directions are done. The copies run on the bare connections so that
// io.Copy reaches (*net.TCPConn).ReadFrom, which on Linux moves the bytes
// with splice(2) without passing them through user space; wrapping either
// side (to count bytes, or in a bufio) would silently lose that.
func pipe(pc *proxyConn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		pc.in.Add(oneWay(pc, pc.backend, pc.client))
	}()
	pc.out.Add(oneWay(pc, pc.client, pc.backend))
	<-done
}

// oneWay copies src to dst. At EOF it half-closes dst so the peer sees the
// same EOF while the other direction carries on; on an error (a reset, or
// a close from elsewhere) it tears the whole connection down, since the
// other direction has nobody left to talk to.
func oneWay(pc *proxyConn, dst, src net.Conn) int64 {
	n, err := io.Copy(dst, src)
	if err != nil {
		pc.close()
		return n
	}
	if closeWrite(dst) != nil {
		pc.close()
	}
	return n
}

func closeWrite(c net.Conn) error {
	cw, ok := c.(interface{ CloseWrite() error })
	if !ok {
		return errors.ErrUnsupported
	}
	return cw.CloseWrite()
}
