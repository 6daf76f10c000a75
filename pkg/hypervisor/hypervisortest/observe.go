package hypervisortest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

// What the fake reports about running domains: listings, caps, agent
// sockets, statistics and lifecycle events.

// Emit sends an event to every Events subscriber, waiting for each to
// read it or to end its context. A zero Time is set to now.
func (f *Fake) Emit(ev hypervisor.Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	f.evMu.Lock()
	defer f.evMu.Unlock()
	for _, s := range f.subs {
		select {
		case s.ch <- ev:
		case <-s.ctx.Done():
		}
	}
}

func (f *Fake) Domains(ctx context.Context) ([]hypervisor.Domain, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Domains", ""); err != nil {
		return nil, err
	}
	var out []hypervisor.Domain
	for name, d := range f.domains {
		if d.Metadata == "" {
			continue // not vmfleet's
		}
		out = append(out, hypervisor.Domain{Name: name, State: d.State, Metadata: d.Metadata})
	}
	slices.SortFunc(out, func(a, b hypervisor.Domain) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// AgentSocket returns what SetAgentSocket set for the domain.
func (f *Fake) AgentSocket(ctx context.Context, name, port string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("AgentSocket", name); err != nil {
		return "", err
	}
	d, err := f.get(name)
	if err != nil {
		return "", err
	}
	if d.AgentSocket == "" {
		return "", fmt.Errorf("domain %s has no %s port", name, port)
	}
	return d.AgentSocket, nil
}

// SetAgentSocket says where a fake domain's agent listens.
func (f *Fake) SetAgentSocket(name, path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d, err := f.get(name); err == nil {
		d.AgentSocket = path
	}
}

func (f *Fake) Limits(ctx context.Context, name string) (hypervisor.Limits, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Limits", name); err != nil {
		return hypervisor.Limits{}, err
	}
	d, err := f.get(name)
	if err != nil {
		return hypervisor.Limits{}, err
	}
	lim := hypervisor.Limits{MemoryHardLimitKiB: uint64(d.HardLimitBytes / 1024)}
	if d.Spec.CPUQuota > 0 {
		lim.CPUPeriod, lim.CPUQuota = d.Spec.CPUPeriod, d.Spec.CPUQuota
	}
	return lim, nil
}

// Events returns a channel that gets what Emit sends until ctx ends; then
// it is closed.
func (f *Fake) Events(ctx context.Context) (<-chan hypervisor.Event, error) {
	f.mu.Lock()
	err := f.record("Events", "")
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	sub := &subscriber{ctx: ctx, ch: make(chan hypervisor.Event)}
	f.evMu.Lock()
	f.subs = append(f.subs, sub)
	f.evMu.Unlock()
	go func() {
		<-ctx.Done()
		// Emit holds evMu while it sends, so no send can hit the closed
		// channel.
		f.evMu.Lock()
		defer f.evMu.Unlock()
		f.subs = slices.DeleteFunc(f.subs, func(s *subscriber) bool { return s == sub })
		close(sub.ch)
	}()
	return sub.ch, nil
}

// Stats reports every running domain with its guest RAM and the time; CPU
// time and RSS are what SetStats gave it (zero otherwise).
func (f *Fake) Stats(ctx context.Context) (map[string]hypervisor.Stats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Stats", ""); err != nil {
		return nil, err
	}
	out := map[string]hypervisor.Stats{}
	for name, d := range f.domains {
		if d.State == hypervisor.Running {
			st := d.Stats
			st.MemoryKiB = uint64(d.Spec.MemoryMiB) * 1024
			st.Time = time.Now()
			out[name] = st
		}
	}
	return out, nil
}

// PSS reports the domain's Stats.RSSKiB: the fake shares no pages.
func (f *Fake) PSS(ctx context.Context, name string) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("PSS", name); err != nil {
		return 0, err
	}
	d, err := f.get(name)
	if err != nil {
		return 0, err
	}
	return d.Stats.RSSKiB, nil
}

// QEMUProcess places a running domain's QEMU on the unified hierarchy as
// libvirt does on a host without systemd, running as QEMUUID.
func (f *Fake) QEMUProcess(ctx context.Context, name string) (hypervisor.Process, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("QEMUProcess", name); err != nil {
		return hypervisor.Process{}, err
	}
	d, err := f.get(name)
	if err != nil {
		return hypervisor.Process{}, err
	}
	if d.State != hypervisor.Running && d.State != hypervisor.Paused {
		return hypervisor.Process{}, fmt.Errorf("qemu process of %s: domain is not running", name)
	}
	return hypervisor.Process{UID: QEMUUID, Cgroups: "0::/machine/qemu-" + name + ".libvirt-qemu/emulator\n"}, nil
}

// QEMUUID is the uid the fake's QEMUs run as: Debian's libvirt-qemu.
const QEMUUID = 64055
