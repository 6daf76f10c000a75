package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// ErrNoLifecycleAction is returned for a completion or heartbeat that
// names no action in progress.
var ErrNoLifecycleAction = errors.New("No active Lifecycle Action found")

// hookWait is what holds a member at a lifecycle transition: one action
// per hook of the transition, each completed on its own; the member
// proceeds once none is left.
type hookWait struct {
	transition string
	actions    map[string]*action // by hook name
	// grace is the stop grace of the termination it holds.
	grace time.Duration
}

// action is one hook's lifecycle action on one instance.
type action struct {
	hook  store.LifecycleHook
	token string
	// deadline moves with each heartbeat; global does not.
	deadline, global time.Time
}

// hold puts m in a wait for the group's hooks on transition, and reports
// whether it has any.
func (c *Controller) hold(s *service, m *member, transition string, grace time.Duration) bool {
	hooks := s.spec.Group.HooksAt(transition)
	if len(hooks) == 0 {
		return false
	}
	now := time.Now()
	w := &hookWait{transition: transition, actions: map[string]*action{}, grace: grace}
	m.wait = w
	state := api.PendingWait
	if transition == store.TransitionTerminating {
		state = api.TerminatingWait
	}
	for _, h := range hooks {
		a := &action{hook: h, token: uuid.NewString(), deadline: now.Add(c.scaled(h.HeartbeatTimeout)), global: now.Add(c.scaled(h.GlobalTimeout()))}
		w.actions[h.Name] = a
		c.emit(s.spec.Name, m.key, "lifecycle-wait", "%s for hook %s (token %s; %s without a heartbeat takes %s)",
			state, h.Name, a.token, c.scaled(h.HeartbeatTimeout), h.DefaultResult)
	}
	c.keepWait(s, m)
	return true
}

// CompleteLifecycleAction ends an action with result (CONTINUE or
// ABANDON), as CompleteLifecycleAction does.
func (c *Controller) CompleteLifecycleAction(ctx context.Context, la api.LifecycleAction, result string) error {
	return c.onAction(ctx, la, func(s *service, m *member, a *action) {
		c.emit(s.spec.Name, m.key, "lifecycle-complete", "hook %s completed: %s", a.hook.Name, result)
		c.settle(ctx, s, m, a.hook.Name, result)
	})
}

// RecordLifecycleActionHeartbeat gives an action another heartbeat
// timeout, within its global timeout.
func (c *Controller) RecordLifecycleActionHeartbeat(ctx context.Context, la api.LifecycleAction) error {
	return c.onAction(ctx, la, func(s *service, m *member, a *action) {
		a.deadline = time.Now().Add(c.scaled(a.hook.HeartbeatTimeout))
		if a.deadline.After(a.global) {
			a.deadline = a.global
		}
		c.emit(s.spec.Name, m.key, "lifecycle-heartbeat", "hook %s: heartbeat, now waits until %s", a.hook.Name, a.deadline.Format(time.TimeOnly))
		c.keepWait(s, m)
	})
}

// onAction runs f on the owner goroutine for the action la names.
func (c *Controller) onAction(ctx context.Context, la api.LifecycleAction, f func(*service, *member, *action)) error {
	found := false
	if err := c.call(ctx, func() {
		for _, s := range c.services {
			for _, m := range s.members {
				a := m.wait.action(la.Hook)
				if a == nil || la.Instance != "" && m.key != la.Instance || la.Token != "" && a.token != la.Token {
					continue
				}
				found = true
				f(s, m, a)
				return
			}
		}
	}); err != nil {
		return err
	}
	if !found {
		if la.Instance != "" {
			return fmt.Errorf("%w with instance ID %s", ErrNoLifecycleAction, la.Instance)
		}
		return fmt.Errorf("%w with token %s", ErrNoLifecycleAction, la.Token)
	}
	return nil
}

func (w *hookWait) action(hook string) *action {
	if w == nil {
		return nil
	}
	return w.actions[hook]
}

// settle ends one hook's action: an ABANDON ends the wait at once, the
// last CONTINUE lets the member proceed.
func (c *Controller) settle(ctx context.Context, s *service, m *member, hook, result string) {
	w := m.wait
	delete(w.actions, hook)
	if result != store.ResultAbandon && len(w.actions) > 0 {
		c.keepWait(s, m)
		return
	}
	m.wait = nil
	switch {
	case w.transition == store.TransitionTerminating:
		inst := s.insts[m.key]
		if inst == nil {
			delete(s.members, m.key)
			return
		}
		c.terminateAside(ctx, s, inst, w.grace, "")
	case result == store.ResultAbandon:
		c.emit(s.spec.Name, m.key, "replacing", "launch abandoned by a lifecycle hook")
		c.retire(ctx, s, m, 0)
	default:
		c.proceed(s, m)
		c.keepWait(s, m)
	}
}

// proceed takes a member out of Pending:Wait into the balancer's
// rotation: the health check grace period starts now.
func (c *Controller) proceed(s *service, m *member) {
	m.phase, m.launched = booting, time.Now()
	inst := s.insts[m.key]
	if inst == nil {
		return
	}
	if err := s.bal.Register(inst.Address); err != nil {
		c.emit(s.spec.Name, inst.ID, "error", "register with balancer: %v", err)
	}
}

// expireWaits applies the default result of every action past its
// timeout, and CONTINUE to those whose hook is gone; a fleet going down
// waits for no termination hook.
func (c *Controller) expireWaits(ctx context.Context, now time.Time) {
	for _, s := range c.services {
		for _, m := range s.members {
			if m.wait == nil {
				continue
			}
			for _, name := range slices.Sorted(maps.Keys(m.wait.actions)) {
				a := m.wait.actions[name]
				switch {
				case c.down && m.wait.transition == store.TransitionTerminating:
					c.settle(ctx, s, m, name, store.ResultContinue)
				case !slices.ContainsFunc(s.spec.Group.LifecycleHooks, func(h store.LifecycleHook) bool { return h.Name == name }):
					// DeleteLifecycleHook sends CONTINUE to what it held.
					c.emit(s.spec.Name, m.key, "lifecycle-complete", "hook %s deleted: %s", name, store.ResultContinue)
					c.settle(ctx, s, m, name, store.ResultContinue)
				case now.After(a.deadline) || now.After(a.global):
					c.emit(s.spec.Name, m.key, "lifecycle-timeout", "hook %s timed out: %s", name, a.hook.DefaultResult)
					c.settle(ctx, s, m, name, a.hook.DefaultResult)
				}
				if m.wait == nil {
					break
				}
			}
		}
	}
}
