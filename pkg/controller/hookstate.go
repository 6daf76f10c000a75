package controller

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/instance"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// A lifecycle action is kept in its instance's domain metadata, as
// standby and protection are, so a restarted daemon's controller holds
// the instance where the last one did, with the same tokens and
// timeouts.

// waitWrites keeps one member's metadata writes in the order they were
// asked for: a write older than one already made is dropped.
type waitWrites struct {
	mu      sync.Mutex
	asked   uint64 // owner goroutine only
	written uint64 // under mu
}

// keepWait writes m's lifecycle wait (none once it ended) to its
// instance's metadata, aside from the owner goroutine.
func (c *Controller) keepWait(s *service, m *member) {
	if s.insts[m.key] == nil {
		return
	}
	if m.writes == nil {
		m.writes = &waitWrites{}
	}
	k, id, w := m.writes, m.key, m.wait.record()
	k.asked++
	seq := k.asked
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		// A wait begun as the daemon stops is still kept.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), 10*time.Second)
		defer cancel()
		k.mu.Lock()
		defer k.mu.Unlock()
		if seq <= k.written {
			return
		}
		// Read afresh: the daemon writes standby and protection to the
		// same metadata.
		inst, err := c.opts.Instances.Get(ctx, id)
		if err == nil {
			err = c.opts.Instances.SetLifecycle(ctx, inst, w)
		}
		if err != nil {
			c.log.Warn("keep the lifecycle action in the instance's metadata", "instance", id, "err", err)
			return
		}
		k.written = seq
	}()
}

// record is the wait as an instance's metadata keeps it; nil for none.
func (w *hookWait) record() *instance.LifecycleWait {
	if w == nil {
		return nil
	}
	r := &instance.LifecycleWait{Transition: w.transition}
	for _, name := range slices.Sorted(maps.Keys(w.actions)) {
		a := w.actions[name]
		r.Actions = append(r.Actions, instance.LifecycleAction{Hook: name, Token: a.token, Deadline: a.deadline, Global: a.global})
	}
	return r
}

// restoreWait is the wait an adopted instance's metadata kept; an action
// of a hook since deleted is continued by expireWaits.
func (c *Controller) restoreWait(s *service, r *instance.LifecycleWait) *hookWait {
	w := &hookWait{transition: r.Transition, actions: map[string]*action{}, grace: c.stopGrace}
	for _, a := range r.Actions {
		h := store.LifecycleHook{Name: a.Hook, DefaultResult: store.ResultContinue}
		if i := slices.IndexFunc(s.spec.Group.LifecycleHooks, func(h store.LifecycleHook) bool { return h.Name == a.Hook }); i >= 0 {
			h = s.spec.Group.LifecycleHooks[i]
		}
		w.actions[a.Hook] = &action{hook: h, token: a.Token, deadline: a.Deadline, global: a.Global}
	}
	return w
}

// adoptWaiting takes over an instance a lifecycle action held when the
// last controller left: in Pending:Wait it stays out of the balancer; in
// Terminating:Wait it was drained already and goes once the action ends.
func (c *Controller) adoptWaiting(s *service, m *member, inst *instance.Instance) {
	m.wait = c.restoreWait(s, inst.Lifecycle)
	state := api.PendingWait
	if m.wait.transition == store.TransitionTerminating {
		m.phase, state = leaving, api.TerminatingWait
	} else {
		m.phase = pendingWait
	}
	c.emit(s.spec.Name, inst.ID, "adopted", "in %s at %s", state, inst.Address)
}
