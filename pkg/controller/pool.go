package controller

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/vmfleet/vmfleet/pkg/balancer"
	"github.com/vmfleet/vmfleet/pkg/health"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/instance"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

// A service's warm pool, as Auto Scaling keeps one: instances made ready
// ahead of a scale-out and never in the balancer's rotation. On libvirt a
// stopped instance is a defined, shut-off domain with its disk and config
// made; a running one is booted, healthy and out of rotation; a
// hibernated one booted, turned healthy, then had its memory saved to its
// own directory and its QEMU stopped.

// poolState is the state the service's pool keeps its instances in.
func (s *service) poolState() string {
	if s.spec.Group.WarmPool == nil {
		return ""
	}
	return s.spec.Group.WarmPool.PoolState
}

// poolSize is how many instances the service's pool should hold now.
func (c *Controller) poolSize(s *service, desired int) int {
	if c.down || s.removed {
		return 0
	}
	return s.spec.Group.WarmPoolSize(desired)
}

// launchOptions are what the service's instances are launched with.
func (c *Controller) launchOptions(s *service, pool string) instance.Options {
	lt := &s.spec.LaunchTemplate
	o := instance.Options{
		Image: s.image, Service: s.spec.Name, Fleet: c.opts.Stack.Fleet.Name, CPU: lt.CPU,
		MemoryBytes: lt.MemoryBytes, Env: s.env, Template: s.template(),
		HostPorts: s.reach, Internet: lt.Egress.Internet, Pool: pool, MetadataOptions: lt.MetadataOptions,
	}
	if lt.UserData != "" {
		o.UserData = []byte(lt.UserData)
	}
	return o
}

// warm launches one instance into the pool: a stopped one is only
// defined; the others boot and wait for the pool's health check.
func (c *Controller) warm(ctx context.Context, s *service) {
	c.seq++
	key := "warm-" + strconv.Itoa(c.seq)
	state := s.poolState()
	m := &member{key: key, digest: s.template(), phase: warming, launched: time.Now(), pool: state, busy: true}
	s.members[key] = m
	opts := c.launchOptions(s, state)
	name := s.spec.Name
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		var inst *instance.Instance
		var err error
		if state == limits.PoolStopped {
			inst, err = c.opts.Instances.Define(ctx, opts)
		} else {
			inst, err = c.opts.Instances.Launch(ctx, opts)
		}
		c.deliver(ctx, func() {
			delete(s.members, key)
			if err != nil {
				c.emit(name, "", "error", "warm pool launch failed (retrying in %s): %v", s.backOff(), err)
				return
			}
			m.key, m.busy, m.launched, m.woken = inst.ID, false, time.Now(), inst.Snapshot != ""
			s.members[inst.ID] = m
			s.insts[inst.ID] = inst
			if state == limits.PoolStopped {
				m.phase = warmed
				c.emit(name, inst.ID, "warmed", "in the warm pool, defined and shut off")
				return
			}
			c.link(inst)
			c.checkPooled(s, m, inst)
			c.emit(name, inst.ID, "warming", "launched into the warm pool; waiting for its health check")
		})
	}()
}

// checkPooled runs the pool's own health check of a running pool member:
// the balancer does not know it.
func (c *Controller) checkPooled(s *service, m *member, inst *instance.Instance) {
	if inst.Address == "" {
		return
	}
	ch, err := health.NewChecker(inst.Address, health.Options{
		Check: c.checkOf(s.spec.TargetGroup.HealthCheck), Probe: c.prober(), Watch: c.watcher(), Logger: c.log,
		OnTransition: c.report,
	})
	if err != nil {
		c.emit(s.spec.Name, m.key, "error", "warm pool health check: %v", err)
		return
	}
	ctx, cancel := context.WithCancel(c.ctx)
	m.stopCheck, m.checker = cancel, ch
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ch.Run(ctx)
	}()
}

func (m *member) endCheck() {
	if m.stopCheck != nil {
		m.stopCheck()
		m.stopCheck, m.checker = nil, nil
	}
}

// onPoolHealth acts on the pool's health check of one of its members.
func (c *Controller) onPoolHealth(ctx context.Context, s *service, m *member, tr health.Transition) {
	inst := s.insts[m.key]
	switch {
	case inst == nil || m.busy:
	case tr.To == health.Healthy && m.phase == warming:
		c.endBurst(ctx, inst)
		if m.pool == limits.PoolRunning {
			m.phase = warmed
			c.emit(s.spec.Name, m.key, "warmed", "in the warm pool, running and healthy after %s", time.Since(m.launched).Round(100*time.Millisecond))
			return
		}
		c.park(ctx, s, m, inst, 0)
	case tr.To == health.Unhealthy && m.phase == warmed:
		c.emit(s.spec.Name, m.key, "unhealthy", "warm pool instance: %s; replacing", tr.Reason)
		c.dropPooled(ctx, s, m)
	}
}

// park takes a running member to the pool's stopped or hibernated state.
func (c *Controller) park(ctx context.Context, s *service, m *member, inst *instance.Instance, grace time.Duration) {
	m.busy = true
	m.endCheck()
	state := m.pool
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.unlink(inst)
		var err error
		if state == limits.PoolHibernated {
			err = c.opts.Instances.Hibernate(ctx, inst)
		} else {
			err = c.opts.Instances.Stop(ctx, inst, grace)
		}
		c.deliver(ctx, func() {
			m.busy = false
			if err != nil {
				c.emit(s.spec.Name, m.key, "error", "warm pool: %v; replacing", err)
				c.dropPooled(ctx, s, m)
				return
			}
			m.phase = warmed
			c.emit(s.spec.Name, m.key, "warmed", "in the warm pool, %s", state)
		})
	}()
}

// dropPooled terminates a pool member.
func (c *Controller) dropPooled(ctx context.Context, s *service, m *member) {
	m.endCheck()
	m.phase = leaving
	if inst := s.insts[m.key]; inst != nil {
		c.terminateAside(ctx, s, inst, 0, "warm pool")
	}
}

// enter moves a ready pool member into the group. A running one goes
// into rotation at once, healthy if the pool's check last found it so;
// a stopped or hibernated one starts first and is in service once its
// health check passes, like a new launch.
func (c *Controller) enter(ctx context.Context, s *service, m *member) {
	inst := s.insts[m.key]
	if inst == nil {
		return
	}
	name := s.spec.Name
	healthy := m.checker != nil && m.checker.State() == health.Healthy
	m.endCheck()
	m.launched, m.pool = time.Now(), ""
	if inst.State == hypervisor.Running {
		register := s.bal.Register
		if healthy {
			register = s.bal.RegisterHealthy
			m.phase, m.inService = inService, time.Now()
		} else {
			m.phase = booting
		}
		if err := register(inst.Address); err != nil {
			c.emit(name, inst.ID, "error", "register with balancer: %v", err)
		}
		c.emit(name, inst.ID, "entered", "from the warm pool (running) into the group, %s", m.phase)
		c.setPool(ctx, inst, "")
		return
	}
	m.phase, m.busy, m.woken = booting, true, false
	opts := c.launchOptions(s, "")
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		hibernated := inst.Hibernated()
		err := c.opts.Instances.Start(ctx, inst, opts)
		if err == nil {
			c.link(inst)
			if hibernated {
				// Before any balancer sends it a request.
				err = c.setClock(ctx, inst)
			}
		}
		c.deliver(ctx, func() {
			m.busy = false
			if err != nil {
				c.emit(name, inst.ID, "error", "start from the warm pool: %v; replacing", err)
				c.retire(ctx, s, m, 0)
				return
			}
			m.launched, m.woken = time.Now(), hibernated || inst.Snapshot != ""
			if err := s.bal.Register(inst.Address); err != nil {
				c.emit(name, inst.ID, "error", "register with balancer: %v", err)
			}
			from := "stopped"
			if hibernated {
				from = "hibernated"
			}
			c.emit(name, inst.ID, "entered", "from the warm pool (%s) into the group, started", from)
		})
	}()
}

// returnToPool takes a scaled-in member out of rotation, drains it and
// keeps it in the pool's state instead of terminating it.
func (c *Controller) returnToPool(ctx context.Context, s *service, m *member) {
	inst := s.insts[m.key]
	if inst == nil || m.phase.pooled() {
		return
	}
	m.phase, m.pool, m.busy, m.inService = warming, s.poolState(), true, time.Time{}
	name, state := s.spec.Name, m.pool
	c.emit(name, m.key, "draining", "deregistered from the balancer; back to the warm pool")
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := s.bal.Deregister(ctx, inst.Address); err != nil && !errors.Is(err, balancer.ErrUnknownTarget) {
			c.log.Warn("deregister", "instance", inst.ID, "err", err)
		}
		c.setPool(ctx, inst, state)
		c.deliver(ctx, func() {
			m.busy = false
			if state == limits.PoolRunning {
				m.phase = warmed
				c.checkPooled(s, m, inst)
				c.emit(name, m.key, "warmed", "back in the warm pool, running")
				return
			}
			c.park(ctx, s, m, inst, 10*time.Second)
		})
	}()
}

// setPool records pool membership in the domain; a failure only costs a
// restarted controller the knowledge, so it is logged.
func (c *Controller) setPool(ctx context.Context, inst *instance.Instance, pool string) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := c.opts.Instances.SetPool(ctx, inst, pool); err != nil {
			c.log.Warn("record warm pool", "instance", inst.ID, "err", err)
		}
	}()
}

// adoptPooled takes over a pool member an earlier controller left: one
// running is checked again (and parked, if that is its pool's state),
// one shut off waits on as it is.
func (c *Controller) adoptPooled(ctx context.Context, s *service, inst *instance.Instance) {
	m := &member{key: inst.ID, digest: inst.Template, phase: warmed, launched: inst.Created, pool: inst.Pool}
	switch {
	case inst.State == hypervisor.Running:
		m.phase = warming
		c.link(inst)
		c.checkPooled(s, m, inst)
	case inst.Pool == limits.PoolRunning, inst.Pool == limits.PoolHibernated && !inst.Hibernated():
		// Stopped while no controller watched, or its save never finished.
		c.terminateAside(ctx, s, inst, 0, "adopt: a warm pool instance not in its pool state")
		return
	}
	s.members[inst.ID] = m
	s.insts[inst.ID] = inst
	c.emit(s.spec.Name, inst.ID, "adopted", "in the warm pool (%s)", m.phaseName())
}

// clockLimit bounds how long a resumed guest's agent may take to take the
// host's time.
const clockLimit = 30 * time.Second

// setClock hands a guest resumed from hibernation the host's time: its
// clock stood still while it was saved. A guest that cannot take it is
// not fit to serve.
func (c *Controller) setClock(ctx context.Context, inst *instance.Instance) error {
	if c.opts.Links == nil {
		return nil
	}
	link := c.opts.Links.Get(inst.Domain)
	if link == nil {
		return fmt.Errorf("set the clock of %s: no agent link", inst.ID)
	}
	ctx, cancel := context.WithTimeout(ctx, clockLimit)
	defer cancel()
	begin := time.Now()
	if err := link.SetClock(ctx); err != nil {
		return fmt.Errorf("set the clock of %s after %s: %w", inst.ID, time.Since(begin).Round(time.Millisecond), err)
	}
	c.log.Info("clock set", "instance", inst.ID, "took", time.Since(begin).Round(time.Millisecond))
	return nil
}
