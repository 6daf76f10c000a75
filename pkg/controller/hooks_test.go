package controller

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/stack"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// Lifecycle hooks, as Auto Scaling runs them: the fleet runs at time
// scale 0.02, so AWS's 3,600 s default heartbeat timeout is 72 s here
// and its least, 30 s, is 0.6 s.

func withHooks(hooks ...store.LifecycleHook) func(*stack.Stack) {
	return func(st *stack.Stack) { st.Services[0].Group.LifecycleHooks = hooks }
}

func launchHook(name string, heartbeat time.Duration, result string) store.LifecycleHook {
	return store.LifecycleHook{Name: name, Transition: store.TransitionLaunching, HeartbeatTimeout: heartbeat, DefaultResult: result}
}

// phaseOf is instance id's lifecycle state, "" once it is gone.
func phaseOf(st api.Fleet, id string) string {
	for p, ids := range phases(st, "web") {
		if slices.Contains(ids, id) {
			return p
		}
	}
	return ""
}

// waitPhase waits until one instance of web is in phase and returns it.
func (h *harness) waitPhase(phase string, not ...string) string {
	h.t.Helper()
	var id string
	h.waitFor("an instance in "+phase, func(st api.Fleet) bool {
		for _, i := range phases(st, "web")[phase] {
			if !slices.Contains(not, i) {
				id = i
				return true
			}
		}
		return false
	})
	return id
}

// answers reports whether the service's balancer answers a request.
func answers(addr string) bool {
	c := &http.Client{Timeout: 500 * time.Millisecond}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func TestALaunchHookHoldsANewInstanceOutOfServiceUntilItsActionIsCompleted(t *testing.T) {
	h := boot(t, withHooks(launchHook("setup", time.Hour, store.ResultAbandon)), serviceYAML("web", 1, "hi"))
	id := h.waitPhase(api.PendingWait)
	// Held well past a boot and its health checks (100 ms apart here).
	time.Sleep(time.Second)
	st := h.ctrl.Status()
	web, _ := serviceOf(st, "web")
	if p := phaseOf(st, id); p != api.PendingWait || web.InService != 0 {
		t.Fatalf("after 1s the instance is %s with %d in service; want it held in %s", p, web.InService, api.PendingWait)
	}
	if answers(web.Listen) {
		t.Fatal("the balancer routes to an instance held in Pending:Wait")
	}
	ctx := context.Background()
	if err := h.ctrl.CompleteLifecycleAction(ctx, api.LifecycleAction{Hook: "setup", Instance: id}, store.ResultContinue); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the instance in service", func(st api.Fleet) bool { return phaseOf(st, id) == api.InService })
	if !answers(web.Listen) {
		t.Fatal("the balancer does not answer once the action is completed")
	}
	err := h.ctrl.CompleteLifecycleAction(ctx, api.LifecycleAction{Hook: "setup", Instance: id}, store.ResultContinue)
	if !errors.Is(err, ErrNoLifecycleAction) {
		t.Fatalf("completing an action twice: %v, want ErrNoLifecycleAction", err)
	}
}

func TestHeartbeatsHoldAnInstancePastItsHeartbeatTimeoutAndATimeoutAppliesTheDefaultResult(t *testing.T) {
	// 50 s of AWS time: 1 s here.
	h := boot(t, withHooks(launchHook("slow", 50*time.Second, store.ResultAbandon)), serviceYAML("web", 1, "hi"))
	id := h.waitPhase(api.PendingWait)
	ctx := context.Background()
	for range 6 { // 3 s: three heartbeat timeouts
		time.Sleep(500 * time.Millisecond)
		if err := h.ctrl.RecordLifecycleActionHeartbeat(ctx, api.LifecycleAction{Hook: "slow", Instance: id}); err != nil {
			t.Fatalf("heartbeat: %v", err)
		}
	}
	if p := phaseOf(h.ctrl.Status(), id); p != api.PendingWait {
		t.Fatalf("after 3 s of heartbeats the instance is %q, want %s", p, api.PendingWait)
	}
	// No more heartbeats: ABANDON terminates it, and a new one launches
	// into a wait of its own.
	h.waitFor("the abandoned instance gone, another held", func(st api.Fleet) bool {
		return phaseOf(st, id) == "" && len(phases(st, "web")[api.PendingWait]) == 1
	})
}

func TestATimedOutHookWithDefaultResultContinuePutsTheInstanceInService(t *testing.T) {
	h := boot(t, withHooks(launchHook("quick", 30*time.Second, store.ResultContinue)), serviceYAML("web", 2, "hi"))
	h.waitReady()
}

func TestAbandoningALaunchReplacesTheInstanceAndTokensNameActions(t *testing.T) {
	h := boot(t, withHooks(launchHook("setup", time.Hour, store.ResultContinue)), serviceYAML("web", 1, "hi"))
	id := h.waitPhase(api.PendingWait)
	ctx := context.Background()
	if err := h.ctrl.CompleteLifecycleAction(ctx, api.LifecycleAction{Hook: "setup", Token: "not-a-token"}, store.ResultContinue); !errors.Is(err, ErrNoLifecycleAction) {
		t.Fatalf("an unknown token: %v, want ErrNoLifecycleAction", err)
	}
	if err := h.ctrl.CompleteLifecycleAction(ctx, api.LifecycleAction{Hook: "other", Instance: id}, store.ResultContinue); !errors.Is(err, ErrNoLifecycleAction) {
		t.Fatalf("another hook's name: %v, want ErrNoLifecycleAction", err)
	}
	token := h.tokenOf(id, "setup")
	if err := h.ctrl.CompleteLifecycleAction(ctx, api.LifecycleAction{Hook: "setup", Token: token}, store.ResultAbandon); err != nil {
		t.Fatal(err)
	}
	h.waitPhase(api.PendingWait, id)
	if phaseOf(h.ctrl.Status(), id) != "" {
		t.Errorf("the abandoned %s is still listed", id)
	}
}

func TestATerminationHookHoldsAScaledInInstanceUntilItsActionIsCompleted(t *testing.T) {
	h := boot(t, withHooks(store.LifecycleHook{Name: "drain", Transition: store.TransitionTerminating, HeartbeatTimeout: time.Hour,
		DefaultResult: store.ResultContinue}), serviceYAML("web", 2, "hi"))
	h.waitReady()
	ctx := context.Background()
	if err := h.ctrl.Scale(ctx, map[string]int{"web": 1}); err != nil {
		t.Fatal(err)
	}
	id := h.waitPhase(api.TerminatingWait)
	time.Sleep(time.Second)
	inst := h.instance(id)
	if inst == nil || phaseOf(h.ctrl.Status(), id) != api.TerminatingWait {
		t.Fatalf("after 1s %s is gone or not in %s: %+v", id, api.TerminatingWait, h.ctrl.Status())
	}
	if _, ok := h.fake.Domain(inst.Domain); !ok {
		t.Fatalf("the domain of %s held in Terminating:Wait is gone", id)
	}
	if err := h.ctrl.CompleteLifecycleAction(ctx, api.LifecycleAction{Hook: "drain", Instance: id}, store.ResultContinue); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the instance terminated", func(st api.Fleet) bool { return phaseOf(st, id) == "" })
	if _, ok := h.fake.Domain(inst.Domain); ok {
		t.Errorf("the domain of %s outlived its completed termination", id)
	}
}

func TestADownDoesNotWaitForTerminationHooks(t *testing.T) {
	h := boot(t, withHooks(store.LifecycleHook{Name: "drain", Transition: store.TransitionTerminating, HeartbeatTimeout: time.Hour,
		DefaultResult: store.ResultContinue}), serviceYAML("web", 1, "hi"))
	h.waitReady()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.ctrl.Down(ctx, 0); err != nil {
		t.Fatalf("down with a termination hook: %v", err)
	}
}

// tokenOf is the token of hook's action on instance id, as the
// controller announced it.
func (h *harness) tokenOf(id, hook string) string {
	h.t.Helper()
	var token string
	if err := h.ctrl.call(context.Background(), func() {
		for _, s := range h.ctrl.services {
			if m := s.members[id]; m != nil && m.wait.action(hook) != nil {
				token = m.wait.action(hook).token
			}
		}
	}); err != nil || token == "" {
		h.t.Fatalf("no action of hook %s on %s", hook, id)
	}
	return token
}

// instance is what the controller knows of instance id, or nil.
func (h *harness) instance(id string) *api.Instance {
	w, _ := serviceOf(h.ctrl.Status(), "web")
	for _, i := range w.Instances {
		if i.ID == id {
			return &i
		}
	}
	return nil
}
