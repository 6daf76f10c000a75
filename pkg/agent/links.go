package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/vmfleet/vmfleet/pkg/health"
)

// Links is the daemon's set of Links, one per running instance, found by
// domain or by the instance's forwarded address (what a balancer knows).
type Links struct {
	socket func(ctx context.Context, domain string) (string, error)
	log    *slog.Logger
	// silenceFloor is the least a watch waits for a guest's report
	// (limits.HealthFloors).
	silenceFloor time.Duration

	mu       sync.Mutex
	byDomain map[string]*entry
	byAddr   map[string]*entry
}

type entry struct {
	link      *Link
	domain    string
	addr      string
	guestPort int
}

// NewLinks returns an empty set; socket finds a domain's agent socket.
// A watch waits at least silenceFloor for a guest's report.
func NewLinks(socket func(ctx context.Context, domain string) (string, error), silenceFloor time.Duration, log *slog.Logger) *Links {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Links{socket: socket, log: log, silenceFloor: silenceFloor, byDomain: map[string]*entry{}, byAddr: map[string]*entry{}}
}

// Ensure keeps a link to domain, whose service is forwarded from addr
// (may be empty) to guestPort. A domain already linked keeps its link.
func (ls *Links) Ensure(domain, addr string, guestPort int) *Link {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if e, ok := ls.byDomain[domain]; ok {
		return e.link
	}
	l := OpenLink(func(ctx context.Context) (string, error) { return ls.socket(ctx, domain) },
		LinkOptions{Logger: ls.log.With("domain", domain)})
	e := &entry{link: l, domain: domain, addr: addr, guestPort: guestPort}
	ls.byDomain[domain] = e
	if addr != "" {
		ls.byAddr[addr] = e
	}
	return l
}

// Get returns domain's link, or nil.
func (ls *Links) Get(domain string) *Link {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if e, ok := ls.byDomain[domain]; ok {
		return e.link
	}
	return nil
}

// Drop closes domain's link.
func (ls *Links) Drop(domain string) {
	ls.mu.Lock()
	e, ok := ls.byDomain[domain]
	if ok {
		delete(ls.byDomain, domain)
		if ls.byAddr[e.addr] == e {
			delete(ls.byAddr, e.addr)
		}
	}
	ls.mu.Unlock()
	if ok {
		e.link.Close()
	}
}

// ProbeTarget runs check from inside the guest behind a forwarded
// address, against the service's own port there.
func (ls *Links) ProbeTarget(ctx context.Context, check health.Check, addr string) error {
	ls.mu.Lock()
	e, ok := ls.byAddr[addr]
	ls.mu.Unlock()
	if !ok {
		return fmt.Errorf("no agent link for target %s", addr)
	}
	return e.link.Probe(ctx, check, e.guestPort)
}

// WatchTarget runs check from inside the guest behind a forwarded address,
// as ProbeTarget does, reporting only changes and heartbeats (health.Watcher).
func (ls *Links) WatchTarget(ctx context.Context, check health.Check, addr string, from health.State, report func(health.State, string)) error {
	ls.mu.Lock()
	e, ok := ls.byAddr[addr]
	ls.mu.Unlock()
	if !ok {
		return fmt.Errorf("no agent link for target %s", addr)
	}
	return e.link.Watch(ctx, check, check.SilenceLimit(ls.silenceFloor), e.guestPort, from, report)
}

// Close closes every link.
func (ls *Links) Close() {
	ls.mu.Lock()
	all := ls.byDomain
	ls.byDomain, ls.byAddr = map[string]*entry{}, map[string]*entry{}
	ls.mu.Unlock()
	for _, e := range all {
		e.link.Close()
	}
}
