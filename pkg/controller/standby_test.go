package controller

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
)

func TestTerminatingAnInstanceWithDecrementShrinksTheGroupAndWithoutReplacesIt(t *testing.T) {
	h := start(t, serviceYAML("web", 3, "hi"))
	ctx := context.Background()
	web, _ := serviceOf(h.ctrl.Status(), "web")
	before := ids(web)
	d, err := h.ctrl.TerminateInstance(ctx, before[0], true)
	if err != nil || d.Desired != 2 || d.Service != "web" {
		t.Fatalf("terminate with decrement: %+v, %v; want web at 2", d, err)
	}
	st := h.waitFor("2 left, none new", func(st api.Fleet) bool {
		w, _ := serviceOf(st, "web")
		return len(w.Instances) == 2 && w.InService == 2
	})
	w, _ := serviceOf(st, "web")
	if got := ids(w); slices.Contains(got, before[0]) || !slices.Equal(got, before[1:]) {
		t.Fatalf("instances %v after terminating %s of %v with decrement; want the other two only", got, before[0], before)
	}
	if _, err := h.ctrl.TerminateInstance(ctx, before[1], false); err != nil {
		t.Fatal(err)
	}
	h.waitFor("a replacement in service", func(st api.Fleet) bool {
		w, _ := serviceOf(st, "web")
		return w.Desired == 2 && w.InService == 2 && !slices.Contains(ids(w), before[1])
	})
	if _, err := h.ctrl.TerminateInstance(ctx, "i-0000000000000000", false); !errors.Is(err, ErrNoInstance) {
		t.Fatalf("terminating an instance the fleet lacks: %v, want ErrNoInstance", err)
	}
}

func TestAnInstanceSetUnhealthyIsReplaced(t *testing.T) {
	h := start(t, serviceYAML("web", 1, "hi"))
	web, _ := serviceOf(h.ctrl.Status(), "web")
	id := web.Instances[0].ID
	if err := h.ctrl.MarkUnhealthy(context.Background(), id, true); err != nil {
		t.Fatal(err)
	}
	h.waitFor("a replacement in service", func(st api.Fleet) bool {
		w, _ := serviceOf(st, "web")
		return w.InService == 1 && !slices.Contains(ids(w), id)
	})
}

func TestAnInstanceInStandbyKeepsRunningOutOfTheCountAndComesBack(t *testing.T) {
	h := start(t, serviceYAML("web", 2, "hi"))
	ctx := context.Background()
	web, _ := serviceOf(h.ctrl.Status(), "web")
	id, domain := web.Instances[0].ID, web.Instances[0].Domain
	if _, err := h.ctrl.EnterStandby(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	h.waitFor("a replacement in service beside the standby instance", func(st api.Fleet) bool {
		w, _ := serviceOf(st, "web")
		return w.InService == 2 && phaseOf(st, id) == api.Standby
	})
	time.Sleep(300 * time.Millisecond) // health checks run every 100 ms
	if _, ok := h.fake.Domain(domain); !ok || phaseOf(h.ctrl.Status(), id) != api.Standby {
		t.Fatalf("the standby instance %s stopped or left standby", id)
	}
	if _, err := h.ctrl.EnterStandby(ctx, id, false); err == nil {
		t.Fatal("a standby instance entered standby again")
	}
	d, err := h.ctrl.ExitStandby(ctx, id)
	if err != nil || d.Desired != 3 {
		t.Fatalf("exit standby: %+v, %v; want desired 3", d, err)
	}
	h.waitFor("3 in service, the one back among them", func(st api.Fleet) bool {
		w, _ := serviceOf(st, "web")
		return w.InService == 3 && phaseOf(st, id) == api.InService
	})
	if _, err := h.ctrl.EnterStandby(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	downCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := h.ctrl.Down(downCtx, 0); err != nil {
		t.Fatalf("down with an instance in standby: %v", err)
	}
	if names := h.fake.Names(); len(names) != 0 {
		t.Fatalf("domains left after down: %v", names)
	}
}
