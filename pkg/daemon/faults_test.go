package daemon

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

// faultEvents are the fault activities recorded so far.
func (td *testDaemon) faultEvents() []string {
	var out []string
	for _, e := range td.d.Activities() {
		if e.Kind == "fault" {
			out = append(out, e.Instance+": "+e.Message)
		}
	}
	return out
}

// A killed instance's QEMU dies as in a crash, the activity history says
// the fault was injected, and the group replaces the instance.
func TestAKillFaultCrashesAnInstanceAndItsGroupReplacesIt(t *testing.T) {
	td := newTestDaemon(t)
	td.apply(fleetYAML(""), false)
	names := td.inService(2)
	id := strings.TrimPrefix(names[0], "vmfleet-shop-web-")
	f, err := td.d.InjectFault(context.Background(), id, api.FaultRequest{Action: api.FaultKill})
	if err != nil || f.Instance != id || f.Until != nil {
		t.Fatalf("kill: %+v, %v", f, err)
	}
	if ev := td.faultEvents(); len(ev) != 1 || !strings.Contains(ev[0], id+": injected: its QEMU killed") {
		t.Errorf("fault activities %q; want the kill, injected", ev)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		now := td.inService(2)
		if !slices.Contains(now, names[0]) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the killed instance %s was never replaced: %v", id, now)
		}
	}
}

// A paused instance is resumed when its pause ends, and at once when the
// daemon stops; bad faults are refused as bad input, unknown instances
// as not found.
func TestAPauseFaultIsUndoneWhenItEndsAndWhenTheDaemonStops(t *testing.T) {
	td := newTestDaemon(t)
	td.apply(fleetYAML(""), false)
	names := td.inService(2)
	id := strings.TrimPrefix(names[0], "vmfleet-shop-web-")
	ctx := context.Background()
	for name, c := range map[string]struct {
		ref  string
		req  api.FaultRequest
		kind string
	}{
		"an unknown action":      {id, api.FaultRequest{Action: "melt"}, api.KindInvalid},
		"a pause too long":       {id, api.FaultRequest{Action: api.FaultPause, Seconds: 601}, api.KindInvalid},
		"a kill with a duration": {id, api.FaultRequest{Action: api.FaultKill, Seconds: 5}, api.KindInvalid},
		"no such instance":       {"i-000000000000", api.FaultRequest{Action: api.FaultKill}, api.KindNotFound},
	} {
		_, err := td.d.InjectFault(ctx, c.ref, c.req)
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Kind != c.kind {
			t.Errorf("%s: %v; want a %s error", name, err, c.kind)
		}
	}
	if ev := td.faultEvents(); len(ev) != 0 {
		t.Fatalf("refused faults recorded %q", ev)
	}
	state := func(name string) hypervisor.State { d, _ := td.fake.Domain(name); return d.State }

	f, err := td.d.InjectFault(ctx, id, api.FaultRequest{Action: api.FaultPause, Seconds: 1})
	if err != nil || f.Until == nil || state(names[0]) != hypervisor.Paused {
		t.Fatalf("pause: %+v, %v; domain %s", f, err, state(names[0]))
	}
	for deadline := time.Now().Add(10 * time.Second); state(names[0]) != hypervisor.Running; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("a pause of 1 s not undone after 10 s: %s", state(names[0]))
		}
	}
	if ev := td.faultEvents(); len(ev) != 2 || !strings.Contains(ev[0], "injected: paused for 1s") || !strings.Contains(ev[1], "fault ended: resumed") {
		t.Errorf("fault activities %q; want the pause injected, then ended", ev)
	}

	if _, err := td.d.InjectFault(ctx, id, api.FaultRequest{Action: api.FaultPause, Seconds: 600}); err != nil {
		t.Fatal(err)
	}
	td.stop()
	if s := state(names[0]); s != hypervisor.Running {
		t.Errorf("a daemon stopped with a 10-minute pause in force left the instance %s", s)
	}
	td.start() // as the next command would; the cleanup stops it
	td.inService(2)
}
