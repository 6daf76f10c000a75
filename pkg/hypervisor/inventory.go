package hypervisor

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

const (
	// inventoryResync re-lists even without a change or an event: the
	// safety net under lifecycle events, at a controller's resync period.
	inventoryResync = 15 * time.Second
	// listTimeout bounds one listing.
	listTimeout = 10 * time.Second
	// knownWait is the most Known waits for a change made through the
	// inventory to show in its listing before it answers with the last.
	knownWait = 500 * time.Millisecond
)

// Inventory is a Hypervisor that also keeps the last listing of domains
// current, so that a reader that must answer at once (ps) answers from
// memory, while libvirtd is slow or stalled too. It lists again after
// every change made through it, on every lifecycle event, and every
// inventoryResync; a change made elsewhere (virsh) shows within that.
type Inventory struct {
	Hypervisor
	log  *slog.Logger
	kick chan struct{}

	mu      sync.Mutex // never held across a call to libvirtd
	doms    []Domain   // the last listing; replaced whole, never changed
	listed  bool
	changes uint64        // changes made through the inventory
	covered uint64        // changes made before the last listing began
	err     error         // the last listing's failure, nil once one succeeds
	errAt   uint64        // changes made before that failed listing began
	updated chan struct{} // closed, and replaced, when a listing ends
}

// NewInventory wraps hv; Run keeps its listing current.
func NewInventory(hv Hypervisor, log *slog.Logger) *Inventory {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Inventory{Hypervisor: hv, log: log, kick: make(chan struct{}, 1), updated: make(chan struct{})}
}

// Run lists domains until ctx ends: at once, then after each change,
// lifecycle event or resync period (a burst of them costs one listing).
func (v *Inventory) Run(ctx context.Context) {
	events, err := v.Hypervisor.Events(ctx)
	if err != nil {
		v.log.Warn("inventory: no lifecycle events; listing every period only", "err", err)
	}
	tick := time.NewTicker(inventoryResync)
	defer tick.Stop()
	for {
		v.refresh(ctx)
		select {
		case <-ctx.Done():
			return
		case <-v.kick:
		case <-tick.C:
		case _, ok := <-events:
			if !ok {
				events = nil
			}
		}
	}
}

func (v *Inventory) refresh(ctx context.Context) {
	v.mu.Lock()
	gen := v.changes
	v.mu.Unlock()
	lctx, cancel := context.WithTimeout(ctx, listTimeout)
	doms, err := v.Hypervisor.Domains(lctx)
	cancel()
	v.mu.Lock()
	defer v.mu.Unlock()
	if err != nil {
		if v.err == nil {
			v.log.Warn("inventory: list domains; answering with the last listing", "err", err)
		}
		v.err, v.errAt = err, gen
	} else {
		v.doms, v.listed, v.covered, v.err = doms, true, gen, nil
	}
	close(v.updated)
	v.updated = make(chan struct{})
}

// Known is the last listing, without a call to libvirtd. A change made
// through the inventory is waited for (up to knownWait), so a domain
// just defined is in it; while listings fail it answers at once with the
// last one. It fails only when no listing has succeeded yet.
func (v *Inventory) Known(ctx context.Context) ([]Domain, error) {
	limit := time.NewTimer(knownWait)
	defer limit.Stop()
	for {
		v.mu.Lock()
		doms, listed, err, wait := v.doms, v.listed, v.err, v.updated
		fresh := listed && v.covered >= v.changes
		failing := err != nil && v.errAt >= v.changes
		v.mu.Unlock()
		switch {
		case fresh:
			return doms, nil
		case failing && listed:
			return doms, nil
		case failing:
			return nil, err
		}
		select {
		case <-wait:
			continue
		case <-limit.C:
		case <-ctx.Done():
		}
		if !listed {
			if err == nil {
				err = ctx.Err()
			}
			if err == nil {
				err = ErrUnresponsive
			}
			return nil, err
		}
		return doms, nil
	}
}

// changed notes a change made through the inventory and asks for a
// listing that shows it.
func (v *Inventory) changed() {
	v.mu.Lock()
	v.changes++
	v.mu.Unlock()
	select {
	case v.kick <- struct{}{}:
	default:
	}
}

// The calls that change a domain's existence, state or metadata.

func (v *Inventory) Define(ctx context.Context, spec *DomainSpec) error {
	defer v.changed()
	return v.Hypervisor.Define(ctx, spec)
}

func (v *Inventory) SetMetadata(ctx context.Context, name, xml string) error {
	defer v.changed()
	return v.Hypervisor.SetMetadata(ctx, name, xml)
}

func (v *Inventory) Create(ctx context.Context, spec *DomainSpec, paused bool) error {
	defer v.changed()
	return v.Hypervisor.Create(ctx, spec, paused)
}

func (v *Inventory) Start(ctx context.Context, name string, paused bool) error {
	defer v.changed()
	return v.Hypervisor.Start(ctx, name, paused)
}

func (v *Inventory) Resume(ctx context.Context, name string) error {
	defer v.changed()
	return v.Hypervisor.Resume(ctx, name)
}

func (v *Inventory) KillQEMU(ctx context.Context, name string) error {
	defer v.changed()
	return v.Hypervisor.KillQEMU(ctx, name)
}

func (v *Inventory) Pause(ctx context.Context, name string) error {
	defer v.changed()
	return v.Hypervisor.Pause(ctx, name)
}

func (v *Inventory) SaveState(ctx context.Context, name, dir string, w io.Writer) error {
	defer v.changed() // it pauses the domain
	return v.Hypervisor.SaveState(ctx, name, dir, w)
}

func (v *Inventory) LoadState(ctx context.Context, name string, r io.Reader) error {
	defer v.changed()
	return v.Hypervisor.LoadState(ctx, name, r)
}

func (v *Inventory) Shutdown(ctx context.Context, name string) error {
	defer v.changed()
	return v.Hypervisor.Shutdown(ctx, name)
}

func (v *Inventory) Destroy(ctx context.Context, name string) error {
	defer v.changed()
	return v.Hypervisor.Destroy(ctx, name)
}

func (v *Inventory) Undefine(ctx context.Context, name string) error {
	defer v.changed()
	return v.Hypervisor.Undefine(ctx, name)
}

var _ Hypervisor = (*Inventory)(nil)
