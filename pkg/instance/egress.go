package instance

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/vmfleet/vmfleet/pkg/firewall"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

// Firewall holds each guest whose user network is open to what it may
// reach; pkg/firewall's Guard is the one on a host.
type Firewall interface {
	// Ensure puts back the rules every guest relies on.
	Ensure(ctx context.Context) error
	// Admit makes domain's guest, its QEMU running as uid in cgroup,
	// reach exactly r.
	Admit(ctx context.Context, domain string, uid int, cgroup string, r firewall.Reach) error
	// Forget removes domain's rules.
	Forget(ctx context.Context, domain string) error
	// Prune removes the rules of every domain keep says is gone.
	Prune(ctx context.Context, keep func(domain string) bool) error
	// Rules counts the rules each domain has.
	Rules(ctx context.Context) (map[string]int, error)
	// Intact says whether the rules every guest relies on are in place.
	Intact(ctx context.Context) bool
}

// open says whether the instance's guest opens connections of its own
// (openNetwork, as it was launched).
func (r Reach) open() bool { return r.Internet || len(r.HostPorts) > 0 }

// rules is the reach as the firewall takes it.
func (r Reach) rules() firewall.Reach {
	return firewall.Reach{HostPorts: r.HostPorts, Internet: r.Internet}
}

// openNetwork says whether the guest opens connections of its own: to
// its dependencies and host ports at 10.0.2.2, or to the outside. Its
// network is then open, and the firewall holds it to those.
func openNetwork(o Options) bool { return Reach{HostPorts: o.HostPorts, Internet: o.Internet}.open() }

// guard mends the firewall before a guest with an open network is made.
func (m *Manager) guard(ctx context.Context) error {
	if m.Firewall == nil {
		return invalid{errors.New("depends_on and egress need the host's firewall, which this daemon does not keep; or leave them out")}
	}
	if err := m.Firewall.Ensure(ctx); err != nil {
		return invalid{fmt.Errorf("depends_on and egress: %w; or leave them out", err)}
	}
	return nil
}

// admit gives the paused domain's guest its reach on the host's firewall,
// before it runs an instruction with its network open.
func (m *Manager) admit(ctx context.Context, domain string, r Reach) error {
	if m.Firewall == nil {
		return m.guard(ctx)
	}
	qemu, err := m.HV.QEMUProcess(ctx, domain)
	if err != nil {
		return err
	}
	cgroup, err := firewall.Cgroup(qemu.Cgroups)
	if err != nil {
		return fmt.Errorf("firewall of %s: %w", domain, err)
	}
	return m.Firewall.Admit(ctx, domain, qemu.UID, cgroup, r.rules())
}

// ended is the firewall's part of a domain's QEMU going: its rules hold
// its cgroup until removed. A failure is logged; the next daemon start
// prunes what is left.
func (m *Manager) ended(ctx context.Context, domain string) {
	if m.Firewall == nil {
		return
	}
	if err := m.Firewall.Forget(context.WithoutCancel(ctx), domain); err != nil {
		m.log().Warn("remove a guest's firewall rules", "domain", domain, "err", err)
	}
}

// admitting is the domains whose rules a launch, a take or an end is
// changing right now. A check must leave them to it: a launched guest's
// metadata names its reach while its QEMU is paused and not yet admitted,
// and a check that counted its rules then would admit it a second time.
type admitting struct {
	mu sync.Mutex
	n  map[string]int
}

// begin marks domain as changing until the returned func is called.
func (a *admitting) begin(domain string) (end func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n == nil {
		a.n = map[string]int{}
	}
	a.n[domain]++
	return func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.n[domain]--; a.n[domain] <= 0 {
			delete(a.n, domain)
		}
	}
}

// now is the domains changing at this moment.
func (a *admitting) now() map[string]bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]bool, len(a.n))
	for d := range a.n {
		out[d] = true
	}
	return out
}

// CheckFirewall mends what a firewall flush took: the chains, and the
// rules of every running guest of this home whose network is open, as it
// was launched with them. With prune it first removes the rules of
// domains libvirt no longer knows (those a killed daemon left); any
// home's domain libvirt knows keeps its rules, even shut off, as another
// daemon may be starting it. Cheap when nothing is missing: a few
// iptables listings.
func (m *Manager) CheckFirewall(ctx context.Context, prune bool) error {
	if m.Firewall == nil {
		return nil
	}
	var before map[string]int
	if prune {
		// The rules are listed before the domains: a domain is admitted
		// after it is defined, so one whose rules were there and that
		// libvirt no longer knows is gone for good, while one launched
		// since the domains were listed has rules this listing lacks.
		var err error
		if before, err = m.Firewall.Rules(ctx); err != nil {
			return err
		}
	}
	doms, err := m.HV.Domains(ctx)
	if err != nil {
		return fmt.Errorf("check the firewall: %w", err)
	}
	// Taken after the domains were listed: a domain listed and not
	// changing now has had its launch's admission (marked before it is
	// defined, or its metadata set) finished.
	busy := m.admitting.now()
	if prune {
		known := map[string]bool{}
		for _, d := range doms {
			known[d.Name] = true
		}
		gone := func(domain string) bool { return before[domain] > 0 && !known[domain] }
		if err := m.Firewall.Prune(ctx, func(domain string) bool { return !gone(domain) }); err != nil {
			return err
		}
	}
	var open []*Instance
	for _, d := range doms {
		md, err := parseMetadata(d.Metadata)
		if err != nil || md.Spare || busy[d.Name] { // a spare's rules are given again when it is taken
			continue
		}
		inst := instanceOf(d, md)
		running := inst.State == hypervisor.Running || inst.State == hypervisor.Paused
		if m.Owns(inst) && running && inst.Reach.open() {
			open = append(open, inst)
		}
	}
	if len(open) == 0 {
		return nil
	}
	if !m.Firewall.Intact(ctx) {
		if err := m.guard(ctx); err != nil {
			return err
		}
	}
	counts, err := m.Firewall.Rules(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, inst := range open {
		if counts[inst.Domain] == firewall.RuleCount(inst.Reach.rules()) {
			continue
		}
		m.log().Warn("a guest's firewall rules were gone; putting them back", "domain", inst.Domain,
			"rules", counts[inst.Domain], "want", firewall.RuleCount(inst.Reach.rules()))
		if err := m.admit(ctx, inst.Domain, inst.Reach); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
