package daemon

import (
	"sync"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// historySize is how many events the daemon keeps for `vmfleet events`.
const historySize = 2000

// hub keeps the recent activity history and hands new events to
// followers. A slow follower misses events rather than stall a fleet.
type hub struct {
	mu   sync.Mutex
	past []api.Event
	subs map[chan api.Event]struct{}
}

func newHub() *hub { return &hub{subs: map[chan api.Event]struct{}{}} }

func (h *hub) publish(ev api.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.past = append(h.past, ev)
	if len(h.past) > historySize {
		h.past = append([]api.Event(nil), h.past[len(h.past)-historySize:]...)
	}
	for ch := range h.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}

// subscribe returns the history so far and a channel of what follows;
// cancel ends the subscription.
func (h *hub) subscribe() (past []api.Event, ch chan api.Event, cancel func()) {
	ch = make(chan api.Event, 256)
	h.mu.Lock()
	past = append([]api.Event(nil), h.past...)
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	return past, ch, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}
}

// EventFilter picks the events of one fleet and service.
type EventFilter struct{ Fleet, Service string }

func (f EventFilter) match(ev api.Event) bool {
	return (f.Fleet == "" || ev.Fleet == f.Fleet) && (f.Service == "" || ev.Service == f.Service)
}
