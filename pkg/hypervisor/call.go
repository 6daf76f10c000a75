package hypervisor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/digitalocean/go-libvirt"
)

// ErrUnresponsive is a call libvirtd did not answer in time.
var ErrUnresponsive = errors.New("libvirtd did not answer")

const (
	// callTimeout bounds a call whose caller set no deadline: longer than
	// the slowest answer libvirtd gives (destroying a QEMU that ignores
	// SIGTERM), so only a stall reaches it.
	callTimeout = time.Minute
	// probeTimeout is how long a ping may go unanswered before the
	// connection counts as stalled and is dialled again.
	probeTimeout = 3 * time.Second
	// keepaliveEvery pings an idle connection, so a stall is found even
	// when no call is waiting on it.
	keepaliveEvery = 5 * time.Second
)

// call runs f on the live connection and returns when it answers or ctx
// ends, whichever comes first: go-libvirt's calls take no context. A call
// left behind ends when libvirtd answers or, if it stalled, when the
// probe drops the connection; it never waits forever.
func call[T any](ctx context.Context, s *Session, op string, long bool, f func(*Libvirt) (T, error)) (T, error) {
	var zero T
	l, err := s.conn()
	if err != nil {
		return zero, err
	}
	if _, ok := ctx.Deadline(); !ok && !long {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, callTimeout)
		defer cancel()
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		v, err := f(l)
		if !errors.Is(err, libvirt.ErrInterrupted) {
			s.answered.Store(time.Now().UnixNano())
		}
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		if r.err != nil && errors.Is(r.err, libvirt.ErrInterrupted) {
			// The connection went (libvirtd restarted, or we dropped it
			// as stalled) while the call was out.
			return r.v, fmt.Errorf("%s: the connection to libvirtd at %s dropped while waiting (it stalled or restarted; try again once it answers): %w", op, s.uri, libvirt.ErrInterrupted)
		}
		return r.v, r.err
	case <-ctx.Done():
		s.suspect(l)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return zero, fmt.Errorf("%s: %w in %s (%s); is it stopped or overloaded? check it with virsh list", op, ErrUnresponsive, time.Since(start).Round(time.Millisecond), s.uri)
		}
		return zero, fmt.Errorf("%s: waiting for libvirtd: %w", op, ctx.Err())
	}
}

// Unreachable says whether err is libvirtd not answering (stopped,
// stalled, restarting) rather than refusing: a call worth trying again
// once it answers.
func Unreachable(err error) bool {
	return errors.Is(err, ErrUnresponsive) || errors.Is(err, ErrReconnecting) || errors.Is(err, libvirt.ErrInterrupted)
}

// do is call for a call that returns only an error.
func do(ctx context.Context, s *Session, op string, f func(*Libvirt) error) error {
	_, err := call(ctx, s, op, false, func(l *Libvirt) (struct{}, error) { return struct{}{}, f(l) })
	return err
}

// suspect pings l once (not again while a ping is out) and drops the
// connection if libvirtd answers nothing, neither the ping nor any other
// call, for probeTimeout: the session dials again, and every call
// waiting on l fails at once. A libvirtd that answers other calls is
// busy (twenty domains destroyed at once queue a ping for seconds), not
// stalled, and its connection is kept: dropping it failed every call in
// flight ("libvirtd is not reachable") in a down of twenty instances.
func (s *Session) suspect(l *Libvirt) {
	s.mu.Lock()
	if s.probing[l] {
		s.mu.Unlock()
		return
	}
	s.probing[l] = true
	s.mu.Unlock()
	go func() {
		defer func() {
			s.mu.Lock()
			delete(s.probing, l)
			s.mu.Unlock()
		}()
		answered := make(chan struct{})
		go func() {
			l.l.ConnectGetLibVersion() // any answer, an error too, is a live libvirtd
			close(answered)
		}()
		wait := time.NewTimer(probeTimeout)
		defer wait.Stop()
		for {
			select {
			case <-answered:
				return
			case <-l.lost():
				return
			case <-wait.C:
			}
			if since := time.Since(time.Unix(0, s.answered.Load())); since < probeTimeout {
				wait.Reset(probeTimeout - since) // busy, not stalled: look again
				continue
			}
			s.log.Warn("libvirtd stopped answering; dropping the connection and dialling again", "uri", s.uri, "waited", probeTimeout)
			l.abort()
			return
		}
	}()
}
