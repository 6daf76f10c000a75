package controller

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/vmfleet/vmfleet/pkg/balancer"
	"github.com/vmfleet/vmfleet/pkg/instance"
	"github.com/vmfleet/vmfleet/pkg/store"
)

func (c *Controller) launch(ctx context.Context, s *service) {
	c.seq++
	key := "launch-" + strconv.Itoa(c.seq)
	m := &member{key: key, digest: s.template(), phase: launching, launched: time.Now()}
	s.members[key] = m
	name := s.spec.Name
	opts := c.launchOptions(s, "")
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		inst, err := c.opts.Instances.Launch(ctx, opts)
		c.deliver(ctx, func() {
			delete(s.members, key)
			if err != nil {
				s.failed(m.digest, time.Time{})
				if instance.Permanent(err) {
					// Retrying cannot cure it: say so, and wait for a
					// changed service.
					s.launchError = err.Error()
					c.emit(name, "", "error", "launch failed, not retrying: %v", err)
					return
				}
				backoff := s.backOff()
				c.emit(name, "", "error", "launch failed (retrying in %s): %v", backoff, err)
				return
			}
			s.launchBackOff, s.launchError = nil, ""
			m.key, m.phase, m.launched, m.woken = inst.ID, booting, time.Now(), inst.Snapshot != ""
			s.members[inst.ID] = m
			s.insts[inst.ID] = inst
			c.link(inst)
			c.emit(name, inst.ID, "launched", "%s, forwarded from %s", inst.Domain, inst.Address)
			if c.hold(s, m, store.TransitionLaunching, 0) {
				m.phase = pendingWait
				return
			}
			if err := s.bal.Register(inst.Address); err != nil {
				c.emit(name, inst.ID, "error", "register with balancer: %v", err)
			}
		})
	}()
}

// backOff counts a failed launch and holds the service's launches back,
// 2 s doubling up to 32 s, without jitter; it returns how long.
func (s *service) backOff() time.Duration {
	if s.launchBackOff == nil {
		s.launchBackOff = &backoff.ExponentialBackOff{InitialInterval: 2 * time.Second, Multiplier: 2, MaxInterval: 32 * time.Second}
	}
	d := s.launchBackOff.NextBackOff()
	s.notBefore = time.Now().Add(d)
	return d
}

// endBurst caps an instance that is in service or warmed: its boot burst
// is over (off the owner goroutine).
func (c *Controller) endBurst(ctx context.Context, inst *instance.Instance) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		_ = c.opts.Instances.EndBurst(ctx, inst.Domain)
	}()
}

// deliver hands a result to the owner goroutine.
func (c *Controller) deliver(ctx context.Context, f func()) {
	select {
	case c.results <- f:
	case <-ctx.Done():
	}
}

// retire takes a member out of rotation, drains it for the service's
// deregistration delay, holds it for the group's termination hooks, and
// terminates it, giving the guest grace to stop. An instance that never
// left Pending:Wait, or a fleet going down, is not held.
func (c *Controller) retire(ctx context.Context, s *service, m *member, grace time.Duration) {
	if m.phase == leaving {
		return
	}
	held := !c.down && m.phase != pendingWait && len(s.spec.Group.HooksAt(store.TransitionTerminating)) > 0
	m.phase, m.wait = leaving, nil
	inst := s.insts[m.key]
	if inst == nil {
		return
	}
	c.emit(s.spec.Name, m.key, "draining", "deregistered from the balancer")
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := s.bal.Deregister(ctx, inst.Address); err != nil && !errors.Is(err, balancer.ErrUnknownTarget) {
			c.log.Warn("deregister", "instance", inst.ID, "err", err)
		}
		if !held {
			c.terminate(ctx, s, inst, grace, "")
			return
		}
		c.deliver(ctx, func() {
			if !c.hold(s, m, store.TransitionTerminating, grace) {
				c.terminateAside(ctx, s, inst, grace, "")
			}
		})
	}()
}

// terminateAside terminates inst on a goroutine of its own, for the owner
// goroutine, which never waits for libvirt.
func (c *Controller) terminateAside(ctx context.Context, s *service, inst *instance.Instance, grace time.Duration, why string) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.terminate(ctx, s, inst, grace, why)
	}()
}

// terminate removes an instance and reports back to the owner goroutine.
func (c *Controller) terminate(ctx context.Context, s *service, inst *instance.Instance, grace time.Duration, why string) {
	err := c.opts.Instances.Terminate(context.WithoutCancel(ctx), inst, grace)
	c.unlink(inst)
	name := inst.Service
	c.deliver(ctx, func() {
		if s != nil {
			delete(s.members, inst.ID)
			delete(s.insts, inst.ID)
			delete(s.protected, inst.ID)
		}
		if err != nil {
			c.emit(name, inst.ID, "error", "terminate: %v", err)
			return
		}
		msg := "domain, disk and log removed"
		if why != "" {
			msg = why + "; " + msg
		}
		c.emit(name, inst.ID, "terminated", "%s", msg)
	})
}
