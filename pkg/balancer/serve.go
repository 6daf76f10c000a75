package balancer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Listen binds addr and serves on it in the background until ctx ends or
// the balancer is closed; it returns the bound address.
//
// An address without a host (":8080") binds 127.0.0.1, not every
// interface: the fleet's services live on one machine and are reached
// locally, so exposing one to the network has to be asked for by naming
// the host ("0.0.0.0:8080").
func (b *Balancer) Listen(ctx context.Context, addr string) (net.Addr, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen %q: %w", addr, err)
	}
	if host == "" {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		ln.Close()
		return nil, fmt.Errorf("listen %s: %w", addr, ErrClosed)
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
	if b.closed {
		b.mu.Unlock()
		ln.Close()
		return fmt.Errorf("serve on %s: %w", ln.Addr(), ErrClosed)
	}
	b.wg.Add(1)
	b.mu.Unlock()
	defer b.wg.Done()

	ctx, cancel := context.WithCancel(ctx)
	stopOnClose := context.AfterFunc(b.ctx, cancel)
	defer stopOnClose()
	// Closing the listener is what unblocks Accept.
	stopListener := context.AfterFunc(ctx, func() { ln.Close() })
	defer stopListener()

	var conns sync.WaitGroup
	err := b.acceptLoop(ctx, ln, &conns)
	cancel()
	ln.Close()
	conns.Wait()
	return err
}

func (b *Balancer) acceptLoop(ctx context.Context, ln net.Listener, conns *sync.WaitGroup) error {
	var backoff time.Duration
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
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				b.log.Warn("accept failed; retrying", "addr", ln.Addr(), "err", err, "in", backoff)
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(backoff):
				}
				continue
			}
			return fmt.Errorf("accept on %s: %w", ln.Addr(), err)
		}
		backoff = 0
		conns.Add(1)
		go func() {
			defer conns.Done()
			b.handle(ctx, c)
		}()
	}
}

// proxyConn is one client connection and, once dialed, its backend.
type proxyConn struct {
	client  net.Conn
	backend net.Conn // set by attach
	once    sync.Once
}

// close tears down both sides; it may be called from any goroutine and any
// number of times.
func (pc *proxyConn) close() {
	pc.once.Do(func() {
		pc.client.Close()
		if pc.backend != nil {
			pc.backend.Close()
		}
	})
}

func (b *Balancer) handle(ctx context.Context, client net.Conn) {
	pc := &proxyConn{client: client}
	t := b.connect(ctx, pc)
	if t == nil {
		client.Close()
		return
	}
	defer b.detach(t, pc)
	stop := context.AfterFunc(ctx, pc.close)
	defer stop()
	pipe(pc)
	pc.close()
}

// connect dials targets in rotation order until one answers, so that a
// dead target costs the client a retry rather than its connection. A
// failed dial is not held against the target (the health check decides
// that); the cursor simply moves on, so the next client starts with the
// following target.
func (b *Balancer) connect(ctx context.Context, pc *proxyConn) *target {
	var tried []*target
	for {
		t := b.pick(tried)
		if t == nil {
			if len(tried) == 0 {
				b.log.Debug("no healthy target; closing client", "client", pc.client.RemoteAddr())
			} else {
				b.log.Debug("every healthy target failed; closing client", "client", pc.client.RemoteAddr(), "tried", len(tried))
			}
			return nil
		}
		tried = append(tried, t)
		backend, err := b.dialer.DialContext(ctx, "tcp", t.addr)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			b.log.Debug("dial target failed; trying next", "target", t.addr, "err", err)
			continue
		}
		if b.attach(t, pc, backend) {
			return t
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
		oneWay(pc, pc.backend, pc.client)
	}()
	oneWay(pc, pc.client, pc.backend)
	<-done
}

// oneWay copies src to dst. At EOF it half-closes dst so the peer sees the
// same EOF while the other direction carries on; on an error (a reset, or
// a close from elsewhere) it tears the whole connection down, since the
// other direction has nobody left to talk to.
func oneWay(pc *proxyConn, dst, src net.Conn) {
	if _, err := io.Copy(dst, src); err != nil {
		pc.close()
		return
	}
	cw, ok := dst.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		pc.close()
	}
}
