package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/hashicorp/yamux"
)

// LinkOptions configure a Link.
type LinkOptions struct {
	Logger *slog.Logger
}

// Link is the host's end of one guest's channel: it connects to the unix
// socket QEMU serves the port on, keeps a yamux session over it (again
// after the guest or the daemon restarts) and opens streams into the
// guest.
type Link struct {
	socket func(ctx context.Context) (string, error)
	opts   LinkOptions
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	sess    *yamux.Session
	changed chan struct{} // closed and replaced whenever sess changes

	probe prober
}

// OpenLink starts keeping a session to the guest behind the socket that
// socket names (asked again at each connect: libvirt names it anew when a
// domain restarts); it returns at once. Close ends it.
func OpenLink(socket func(ctx context.Context) (string, error), opts LinkOptions) *Link {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Link{socket: socket, opts: opts, log: log, cancel: cancel,
		done: make(chan struct{}), changed: make(chan struct{})}
	go l.keep(ctx)
	return l
}

// Close ends the session and every stream on it.
func (l *Link) Close() {
	l.cancel()
	<-l.done
}

// How long a connect waits for the guest's answer to its ping.
const (
	firstPingWait = 250 * time.Millisecond
	maxPingWait   = 10 * time.Second
)

// keep connects, serves the session until it ends, and connects again.
func (l *Link) keep(ctx context.Context) {
	defer close(l.done)
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval = 50*time.Millisecond, 2*time.Second
	// A guest whose agent is not up yet never sees the first ping (the
	// port drops what comes before it is opened): wait briefly at first,
	// longer each time, for a busy guest.
	waits := &backoff.ExponentialBackOff{InitialInterval: firstPingWait, Multiplier: 2, MaxInterval: maxPingWait}
	for ctx.Err() == nil {
		sess, err := l.connect(ctx, waits.NextBackOff())
		if err != nil {
			l.log.Debug("agent not reachable yet", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(b.NextBackOff()):
			}
			continue
		}
		b.Reset()
		waits.Reset()
		l.set(sess)
		l.accept(ctx, sess)
		l.set(nil)
		sess.Close()
	}
}

// connect opens the socket and checks, with a ping, that a guest answers
// on the other end: a guest that missed the previous session's end would
// otherwise swallow the first streams.
func (l *Link) connect(ctx context.Context, wait time.Duration) (*yamux.Session, error) {
	path, err := l.socket(ctx)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	sess, err := yamux.Client(&frames{ReadWriteCloser: conn}, sessionConfig())
	if err != nil {
		conn.Close()
		return nil, err
	}
	pinged := make(chan error, 1)
	go func() { _, err := sess.Ping(); pinged <- err }()
	select {
	case err = <-pinged:
	case <-ctx.Done():
		err = ctx.Err()
	case <-time.After(wait):
		err = fmt.Errorf("guest agent did not answer a ping within %s", wait)
	}
	if err != nil {
		sess.Close()
		return nil, err
	}
	return sess, nil
}

func (l *Link) set(s *yamux.Session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sess = s
	close(l.changed)
	l.changed = make(chan struct{})
}

// session waits for a live session.
func (l *Link) session(ctx context.Context) (*yamux.Session, error) {
	for {
		l.mu.Lock()
		s, changed := l.sess, l.changed
		l.mu.Unlock()
		if s != nil && !s.IsClosed() {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("guest agent not connected: %w", ctx.Err())
		case <-l.done:
			return nil, errors.New("guest agent link closed")
		case <-changed:
		}
	}
}

// Open starts a stream of the given kind into the guest and returns it
// after the header; the caller speaks the op's protocol. A session found
// dead on the way is dropped and the stream tried again on the next one.
func (l *Link) Open(ctx context.Context, h Header) (net.Conn, error) {
	for {
		sess, err := l.session(ctx)
		if err != nil {
			return nil, err
		}
		st, err := l.openOn(ctx, sess, h)
		if err == nil {
			return st, nil
		}
		if !sess.IsClosed() {
			sess.Close() // the write failed: the session is no good
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("open %s stream: %w", h.Op, err)
		}
	}
}

func (l *Link) openOn(ctx context.Context, sess *yamux.Session, h Header) (net.Conn, error) {
	st, err := sess.OpenStream()
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { st.Close() })
	defer stop()
	if err := writeHeader(st, h); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// accept takes the guest's streams until the session ends, so none
// queues up.
func (l *Link) accept(ctx context.Context, sess *yamux.Session) {
	stop := context.AfterFunc(ctx, func() { sess.Close() })
	defer stop()
	for {
		st, err := sess.AcceptStream()
		if err != nil {
			return
		}
		go l.serve(st)
	}
}

// serve refuses a stream the guest opened: the host serves none. The
// guest is not trusted to keep to that.
func (l *Link) serve(st net.Conn) {
	reply(st, errors.New("the host serves no streams"))
	st.Close()
}
