package daemon

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/metrics"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// storedHistory is how many events the store keeps across restarts.
const storedHistory = 10 * historySize

// historySize is how many events the daemon keeps for `vmfleet events`.
const historySize = 2000

// hub keeps the recent activity history and hands new events to
// followers. A slow follower misses events rather than stall a fleet.
type hub struct {
	mu   sync.Mutex
	past []api.Event // ordered by ID
	last int64       // the newest ID given
	subs map[chan api.Event]struct{}
	// toStore feeds the writer that keeps the history in the store; a
	// full queue drops rather than blocks the fleet's goroutines.
	toStore chan api.Event
	// counts serves the events to Prometheus as counters.
	counts *metrics.Activities
}

func newHub(past []api.Event) *hub {
	h := &hub{subs: map[chan api.Event]struct{}{}, toStore: make(chan api.Event, 1024), counts: metrics.NewActivities()}
	for _, ev := range past {
		if ev.ID == 0 { // kept before events had IDs
			ev.ID = h.nextID(ev.Time)
		}
		h.last = max(h.last, ev.ID)
		h.past = append(h.past, ev)
	}
	return h
}

// nextID is the ID of an event at t: its time in microseconds, after
// every ID given, so IDs grow across restarts as well; h.mu held.
func (h *hub) nextID(t time.Time) int64 {
	h.last = max(h.last+1, t.UnixMicro())
	return h.last
}

func (h *hub) publish(ev api.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ev.ID = h.nextID(ev.Time)
	h.past = append(h.past, ev)
	if len(h.past) > historySize {
		h.past = append([]api.Event(nil), h.past[len(h.past)-historySize:]...)
	}
	h.counts.Add(ev.Fleet, ev.Service, ev.Kind)
	select {
	case h.toStore <- ev:
	default:
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
	h.mu.Lock()
	defer h.mu.Unlock()
	past = append([]api.Event(nil), h.past...)
	ch, cancel = h.register()
	return past, ch, cancel
}

// follow is subscribe without the copy of the history, for a reader
// that asks for what it needs.
func (h *hub) follow() (chan api.Event, func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.register()
}

// register adds a follower; h.mu held.
func (h *hub) register() (chan api.Event, func()) {
	ch := make(chan api.Event, 256)
	h.subs[ch] = struct{}{}
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}
}

// after returns the newest limit of the kept events with an ID above
// id, oldest first.
func (h *hub) after(id int64, limit int) []api.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := sort.Search(len(h.past), func(i int) bool { return h.past[i].ID > id })
	i = max(i, len(h.past)-limit)
	return append([]api.Event(nil), h.past[i:]...)
}

// history is the events kept, oldest first.
func (h *hub) history() []api.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]api.Event(nil), h.past...)
}

// ActivitiesAfter returns the kept events with an ID above id (all of
// them for 0), oldest first, at most limit of the newest.
func (d *Daemon) ActivitiesAfter(id int64, limit int) []api.Event {
	return d.events.after(id, limit)
}

// Follow returns a channel that receives each new event, for waking a
// reader; a slow reader misses some, so it reads what it missed with
// ActivitiesAfter. cancel ends it.
func (d *Daemon) Follow() (<-chan api.Event, func()) {
	return d.events.follow()
}

// Activities are the events the daemon keeps (its activity history),
// oldest first: what DescribeScalingActivities reads.
func (d *Daemon) Activities() []api.Event { return d.events.history() }

// EventFilter picks the events of one fleet and service.
type EventFilter struct{ Fleet, Service string }

func (f EventFilter) match(ev api.Event) bool {
	return (f.Fleet == "" || ev.Fleet == f.Fleet) && (f.Service == "" || ev.Service == f.Service)
}

// keep writes the history to the store in batches until ctx ends, then
// writes what is left.
func (h *hub) keep(ctx context.Context, db *store.Store, log *slog.Logger) {
	var batch []api.Event
	flush := func() {
		if len(batch) == 0 {
			return
		}
		err := db.Update(context.WithoutCancel(ctx), func(tx *store.Tx) error { return tx.AppendActivities(batch, storedHistory) })
		if err != nil {
			log.Warn("keep the activity history", "err", err)
		}
		batch = batch[:0]
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case ev := <-h.toStore:
			batch = append(batch, ev)
			if len(batch) >= 100 {
				flush()
			}
		case <-tick.C:
			flush()
		case <-ctx.Done():
			for {
				select {
				case ev := <-h.toStore:
					batch = append(batch, ev)
				default:
					flush()
					return
				}
			}
		}
	}
}

// loadHistory reads the newest events the store kept.
func loadHistory(ctx context.Context, db *store.Store) ([]api.Event, error) {
	var past []api.Event
	err := db.View(ctx, func(tx *store.Tx) (err error) {
		past, err = tx.Activities(historySize)
		return err
	})
	return past, err
}
