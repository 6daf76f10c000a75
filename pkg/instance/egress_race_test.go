package instance

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/firewall"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/hypervisor/hypervisortest"
)

// racingHV is the fake hypervisor with a hook that runs once, at a chosen
// call, the way another goroutine of the daemon would run there.
type racingHV struct {
	*hypervisortest.Fake
	mu     sync.Mutex
	at     string // "Domains" (after it listed) or "QEMUProcess" (before)
	hook   func()
	hooked bool
}

func (h *racingHV) once(method string) {
	h.mu.Lock()
	run := method == h.at && !h.hooked && h.hook != nil
	h.hooked = h.hooked || run
	h.mu.Unlock()
	if run {
		h.hook()
	}
}

func (h *racingHV) Domains(ctx context.Context) ([]hypervisor.Domain, error) {
	doms, err := h.Fake.Domains(ctx)
	h.once("Domains")
	return doms, err
}

func (h *racingHV) QEMUProcess(ctx context.Context, name string) (hypervisor.Process, error) {
	h.once("QEMUProcess")
	return h.Fake.QEMUProcess(ctx, name)
}

func racing(t *testing.T) (*Manager, *racingHV, *fakeFirewall) {
	m, hv := newManager(t)
	r := &racingHV{Fake: hv}
	m.HV = r
	fw := &fakeFirewall{hv: hv}
	m.Firewall = fw
	return m, r, fw
}

func admits(calls []string, domain string) int {
	n := 0
	for _, c := range calls {
		if strings.HasPrefix(c, "admit "+domain+" ") {
			n++
		}
	}
	return n
}

// A daemon's first check prunes what a killed daemon left. A launch
// admitted after libvirt was asked which domains exist, and before the
// prune, is not one of those: its guest would run without its rules
// until the next check puts them back, cut off its dependency.
func TestAPruneKeepsTheRulesOfAGuestLaunchedWhileItLooked(t *testing.T) {
	m, hv, fw := racing(t)
	var inst *Instance
	hv.at, hv.hook = "Domains", func() { inst = launch(t, m, Options{Image: testImage(t), HostPorts: []int{41000}}) }
	if err := m.CheckFirewall(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if inst == nil {
		t.Fatal("the launch did not run during the check")
	}
	want := firewall.RuleCount(firewall.Reach{HostPorts: []int{41000}})
	if got, _ := fw.Rules(context.Background()); got[inst.Domain] != want {
		t.Fatalf("the new guest has %d rules after the prune, want its %d: it cannot reach its dependency", got[inst.Domain], want)
	}
}

// A check that lists a guest whose launch has not admitted it yet (its
// QEMU paused, its rules coming) must not count it as a guest whose rules
// were taken.
func TestACheckLeavesAGuestMidAdmissionToItsLaunch(t *testing.T) {
	m, hv, fw := racing(t)
	hv.at, hv.hook = "QEMUProcess", func() {
		if err := m.CheckFirewall(context.Background(), false); err != nil {
			t.Error(err)
		}
	}
	inst := launch(t, m, Options{Image: testImage(t), HostPorts: []int{41000}})
	if n := admits(fw.called(), inst.Domain); n != 1 {
		t.Fatalf("admitted %d times: %q; want once, by its launch", n, fw.called())
	}
}
