package balancer

import (
	"errors"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/health"
)

// A target whose health checks a fault fails (health.Faults, as vmfleet
// fault unhealthy injects) leaves rotation with ELB's reason for failed
// checks, and comes back when the fault ends.
func TestATargetFailedByAFaultLeavesRotationWithELBsReason(t *testing.T) {
	var faults health.Faults
	b, lb := startBalancer(t, Options{Check: httpCheck, Probe: faults.Probe(nil)})
	a, sick := newWebBackend(t, "a"), newWebBackend(t, "sick")
	register(t, b, a.addr, sick.addr)
	waitState(t, b, a.addr, health.Healthy)
	waitState(t, b, sick.addr, health.Healthy)

	end := faults.Fail(sick.addr, errors.New("fault injected: its health checks fail (vmfleet fault unhealthy)"))
	waitState(t, b, sick.addr, health.Unhealthy)
	if st, _ := status(b, sick.addr); st.Reason != ReasonFailedChecks {
		t.Errorf("reason %q, want %s", st.Reason, ReasonFailedChecks)
	}
	for range 4 {
		if got := mustGet(t, lb); got != "a" {
			t.Fatalf("a request went to %q with its target failed", got)
		}
	}
	end()
	waitState(t, b, sick.addr, health.Healthy)
	if st, _ := status(b, sick.addr); st.Reason != "" {
		t.Errorf("reason %q once the fault ended", st.Reason)
	}
}
