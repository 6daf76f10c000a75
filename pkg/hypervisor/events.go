package hypervisor

import (
	"context"
	"sync"
	"time"
)

// subscriberBuffer is how many events a slow subscriber may fall behind
// before it misses some; every subscriber resyncs from Domains anyway.
const subscriberBuffer = 256

// fanout hands each lifecycle event to every subscriber. libvirtd keeps
// one lifecycle callback per connection and refuses a second ("event
// callback already tracked"), so a session subscribes once per
// connection and shares the stream.
type fanout struct {
	mu   sync.Mutex
	subs map[chan Event]struct{}
}

func (f *fanout) add() chan Event {
	ch := make(chan Event, subscriberBuffer)
	f.mu.Lock()
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	return ch
}

func (f *fanout) remove(ch chan Event) {
	f.mu.Lock()
	delete(f.subs, ch)
	f.mu.Unlock()
	close(ch)
}

// send never blocks: the relay must keep reading libvirtd's stream.
func (f *fanout) send(ev Event) (missed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- ev:
		default:
			missed = true
		}
	}
	return missed
}

// Events streams lifecycle events across reconnects until ctx ends. A
// reconnect may miss events: callers resync from Domains, as after any
// outage.
func (s *Session) Events(ctx context.Context) (<-chan Event, error) {
	ch := s.events.add()
	go func() {
		<-ctx.Done()
		s.events.remove(ch)
	}()
	return ch, nil
}

// relay subscribes once on the connection l and hands its events to
// every subscriber until l is lost or the session closes.
func (s *Session) relay(ctx context.Context, l *Libvirt) {
	sub, cancel := context.WithCancel(ctx)
	defer cancel()
	for {
		in, err := l.Events(sub)
		if err == nil {
			s.pump(sub, l, in)
		} else {
			s.log.Warn("subscribe to lifecycle events; trying again", "err", err)
		}
		select { // lost, or the stream ended: not in a tight loop
		case <-ctx.Done():
			return
		case <-l.lost():
			return
		case <-time.After(time.Second):
		}
	}
}

func (s *Session) pump(ctx context.Context, l *Libvirt, in <-chan Event) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.lost():
			return
		case ev, ok := <-in:
			if !ok {
				return
			}
			if s.events.send(ev) {
				s.log.Debug("a lifecycle subscriber fell behind; it resyncs from the domain list", "domain", ev.Domain)
			}
		}
	}
}
