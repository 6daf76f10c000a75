package instance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/firewall"
	"github.com/vmfleet/vmfleet/pkg/hypervisor/hypervisortest"
)

// fakeFirewall records what the instance manager asks of the firewall,
// and when, on the fake hypervisor's clock of calls.
type fakeFirewall struct {
	hv *hypervisortest.Fake

	mu       sync.Mutex
	calls    []string // "ensure", "admit DOMAIN CGROUP PORTS INTERNET", "forget DOMAIN", "prune"
	hvBefore map[string]int
	fail     error
	rules    map[string]int // domain → rules it holds
	broken   bool           // the chains are not intact
}

func (f *fakeFirewall) log(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	if f.hvBefore == nil {
		f.hvBefore = map[string]int{}
	}
	f.hvBefore[call] = len(f.hv.Calls())
	return f.fail
}

func (f *fakeFirewall) Ensure(context.Context) error { return f.log("ensure") }

func (f *fakeFirewall) Admit(_ context.Context, domain string, uid int, cgroup string, r firewall.Reach) error {
	if uid != hypervisortest.QEMUUID {
		return fmt.Errorf("uid %d", uid)
	}
	if err := f.log(fmt.Sprintf("admit %s %s %v %v", domain, cgroup, r.HostPorts, r.Internet)); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rules == nil {
		f.rules = map[string]int{}
	}
	f.rules[domain] = firewall.RuleCount(r)
	return nil
}

func (f *fakeFirewall) Forget(_ context.Context, domain string) error {
	f.mu.Lock()
	delete(f.rules, domain)
	f.mu.Unlock()
	return f.log("forget " + domain)
}

// Prune removes, as Guard does, the rules there are now of every domain
// keep says is gone.
func (f *fakeFirewall) Prune(_ context.Context, keep func(string) bool) error {
	f.mu.Lock()
	for d := range f.rules {
		if !keep(d) {
			delete(f.rules, d)
		}
	}
	f.mu.Unlock()
	return f.log("prune")
}

func (f *fakeFirewall) Rules(context.Context) (map[string]int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for d, n := range f.rules {
		out[d] = n
	}
	return out, nil
}

func (f *fakeFirewall) Intact(context.Context) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.broken
}

// flush is a firewall reload that took every rule.
func (f *fakeFirewall) flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules, f.broken = nil, true
}

func (f *fakeFirewall) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func withFirewall(t *testing.T) (*Manager, *hypervisortest.Fake, *fakeFirewall) {
	m, hv := newManager(t)
	fw := &fakeFirewall{hv: hv}
	m.Firewall = fw
	return m, hv, fw
}

func TestARestrictedInstanceNeverTouchesTheFirewall(t *testing.T) {
	m, _, fw := withFirewall(t)
	inst := launch(t, m, Options{Image: testImage(t)})
	if err := m.Terminate(context.Background(), inst, 0); err != nil {
		t.Fatal(err)
	}
	if calls := fw.called(); len(calls) != 1 || calls[0] != "forget "+inst.Domain {
		t.Fatalf("firewall calls %q, want only the forget every ended domain gets", calls)
	}
}

func TestAnInstanceWithDependenciesIsAdmittedWithItsPortsBeforeItRuns(t *testing.T) {
	m, hv, fw := withFirewall(t)
	inst := launch(t, m, Options{Image: testImage(t), HostPorts: []int{41000, 5432}})
	admit := fmt.Sprintf("admit %s /machine/qemu-%s.libvirt-qemu [41000 5432] false", inst.Domain, inst.Domain)
	calls := fw.called()
	if !slices.Equal(calls, []string{"ensure", admit}) {
		t.Fatalf("firewall calls %q, want ensure then %q", calls, admit)
	}
	methods := hv.Methods(inst.Domain)
	resume := slices.Index(methods, "Resume")
	var hvCalls []string
	for _, c := range hv.Calls()[:fw.hvBefore[admit]] {
		if c.Domain == inst.Domain {
			hvCalls = append(hvCalls, c.Method)
		}
	}
	if resume < 0 || slices.Contains(hvCalls, "Resume") || !slices.Contains(hvCalls, "Start") {
		t.Fatalf("admitted after %q (all: %q): want after the paused start, before Resume", hvCalls, methods)
	}
	if !defineSpec(t, hv, inst.Domain).OpenNetwork {
		t.Fatal("its network is restricted: it could not reach its dependencies")
	}
	if err := m.Terminate(context.Background(), inst, 0); err != nil {
		t.Fatal(err)
	}
	if calls := fw.called(); calls[len(calls)-1] != "forget "+inst.Domain {
		t.Fatalf("after Terminate: %q, want its rules forgotten", calls)
	}
}

func TestAnInstanceWithInternetOnlyIsAdmittedToo(t *testing.T) {
	m, _, fw := withFirewall(t)
	inst := launch(t, m, Options{Image: testImage(t), Internet: true})
	if calls := fw.called(); len(calls) != 2 || calls[1] != fmt.Sprintf("admit %s /machine/qemu-%s.libvirt-qemu [] true", inst.Domain, inst.Domain) {
		t.Fatalf("firewall calls %q", calls)
	}
}

func TestStoppingOrHibernatingForgetsTheRulesOfTheQEMUThatWent(t *testing.T) {
	m, _, fw := withFirewall(t)
	inst := launch(t, m, Options{Image: testImage(t), HostPorts: []int{41000}})
	if err := m.Stop(context.Background(), inst, time.Duration(0)); err != nil {
		t.Fatal(err)
	}
	if calls := fw.called(); calls[len(calls)-1] != "forget "+inst.Domain {
		t.Fatalf("after Stop: %q", calls)
	}
}

func TestWithoutAWorkingFirewallAnOpenInstanceIsRefusedAndNothingIsLeft(t *testing.T) {
	m, hv, fw := withFirewall(t)
	fw.fail = errors.New(`exec: "iptables": executable file not found in $PATH`)
	_, err := m.Launch(context.Background(), Options{Image: testImage(t), HostPorts: []int{41000}})
	if err == nil || !Permanent(err) || !strings.Contains(err.Error(), "depends_on and egress") || !strings.Contains(err.Error(), "iptables") {
		t.Fatalf("launch without a firewall: %v, want a permanent error naming depends_on, egress and the cause", err)
	}
	assertNothingLeft(t, m, hv)

	m, hv = newManager(t) // no firewall at all
	if _, err := m.Launch(context.Background(), Options{Image: testImage(t), Internet: true}); err == nil || !Permanent(err) {
		t.Fatalf("launch with internet and no firewall: %v, want refused", err)
	}
	assertNothingLeft(t, m, hv)
}

func TestAFailedAdmitLeavesNoDomainAndNoRules(t *testing.T) {
	m, hv, fw := withFirewall(t)
	hv.FailOn("QEMUProcess", errors.New("no such process"))
	if _, err := m.Launch(context.Background(), Options{Image: testImage(t), HostPorts: []int{41000}}); err == nil {
		t.Fatal("launched without its rules")
	}
	assertNothingLeft(t, m, hv)
	if calls := fw.called(); !slices.ContainsFunc(calls, func(c string) bool { return strings.HasPrefix(c, "forget ") }) {
		t.Fatalf("firewall calls %q: want the domain's rules forgotten", calls)
	}
}

func TestASparesKeySaysWhetherItsNetworkIsOpen(t *testing.T) {
	img := testImage(t)
	closed := SpareKey(Options{Image: img})
	deps := SpareKey(Options{Image: img, HostPorts: []int{41000}})
	other := SpareKey(Options{Image: img, HostPorts: []int{41001}})
	if closed == deps {
		t.Fatal("a spare with a restricted network would serve a launch that needs its dependencies")
	}
	if deps != other {
		t.Fatal("the ports are handed over at Take; they should not split spares")
	}
}

func TestACheckWithNothingMissingChangesNothing(t *testing.T) {
	m, _, fw := withFirewall(t)
	launch(t, m, Options{Image: testImage(t), HostPorts: []int{41000}})
	before := len(fw.called())
	if err := m.CheckFirewall(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if got := fw.called()[before:]; len(got) != 0 {
		t.Fatalf("a check of an intact firewall did %q", got)
	}
	if err := m.CheckFirewall(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if got := fw.called()[before:]; !slices.Equal(got, []string{"prune"}) {
		t.Fatalf("a check that prunes did %q, want the prune alone", got)
	}
}

func TestACheckPutsBackTheChainsAndTheRulesOfRunningOpenInstances(t *testing.T) {
	m, _, fw := withFirewall(t)
	open := launch(t, m, Options{Image: testImage(t), HostPorts: []int{41000}})
	launch(t, m, Options{Image: testImage(t)}) // restricted: no rules to give
	stopped := launch(t, m, Options{Image: testImage(t), Internet: true})
	if err := m.Stop(context.Background(), stopped, 0); err != nil {
		t.Fatal(err)
	}
	fw.flush()
	before := len(fw.called())
	if err := m.CheckFirewall(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	want := []string{"ensure", fmt.Sprintf("admit %s /machine/qemu-%s.libvirt-qemu [41000] false", open.Domain, open.Domain)}
	if got := fw.called()[before:]; !slices.Equal(got, want) {
		t.Fatalf("check after a flush: %q, want %q", got, want)
	}
}
