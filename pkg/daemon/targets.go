package daemon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"sync"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/balancer"
	"github.com/vmfleet/vmfleet/pkg/health"
	"github.com/vmfleet/vmfleet/pkg/limits"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// A target group no Auto Scaling group uses is balanced by the daemon
// itself, over the instances RegisterTargets named (standalone ones, as
// `vmfleet run` and RunInstances make): the listener forwarding to it
// binds its load balancer's address, as a group's controller would, and
// the health checks run from the host against each instance's forward.
// A group's target group is its controller's alone, so the two never
// share one (the API refuses it).

// targetBalancers are the daemon's balancers, by target group.
type targetBalancers struct {
	// mu serialises syncs; it is held across binds and registrations,
	// and no goroutine that owns other state waits for it.
	mu   sync.Mutex
	runs map[string]*targetBalancer
}

// targetBalancer is one target group's balancer and what it was made
// from, to tell when it must be made again.
type targetBalancer struct {
	bal     *balancer.Balancer
	listen  string // the listener's address, as stored
	bound   string // the address bound
	tg      string // the target group's settings, as the balancer runs them
	targets map[string]string
}

// SyncTargetGroups brings every target group's balancer to what is
// stored; at start, when a restarted daemon takes them over.
func (d *Daemon) SyncTargetGroups(ctx context.Context) error {
	var names []string
	err := d.state.db.View(ctx, func(tx *store.Tx) error {
		tgs, err := tx.ListTargetGroups()
		for _, tg := range tgs {
			if len(tg.Targets) > 0 {
				names = append(names, tg.Name)
			}
		}
		return err
	})
	if err != nil {
		return api.Failed(err)
	}
	var errs []error
	for _, name := range names {
		errs = append(errs, d.SyncTargetGroup(ctx, name))
	}
	return errors.Join(errs...)
}

// SyncTargetGroup brings the balancer of target group name to what is
// stored: running while a listener forwards to it, no group uses it and
// instances are registered with it; gone otherwise.
func (d *Daemon) SyncTargetGroup(ctx context.Context, name string) error {
	var tg store.TargetGroup
	var listen string
	found, used := true, false
	err := d.state.db.View(ctx, func(tx *store.Tx) (err error) {
		if tg, err = tx.GetTargetGroup(name); errors.Is(err, store.ErrNotFound) {
			found = false
			return nil
		} else if err != nil {
			return err
		}
		lbs, err := tx.ListLoadBalancers()
		for _, lb := range lbs {
			if lb.Listener.TargetGroup == name && lb.Listener.Listen != "" {
				listen = lb.Listener.Listen
			}
		}
		if err != nil {
			return err
		}
		groups, err := tx.ListGroups()
		used = slices.ContainsFunc(groups, func(g store.Group) bool { return g.TargetGroup == name })
		return err
	})
	if err != nil {
		return api.Failed(fmt.Errorf("target group %s: %w", name, err))
	}
	need := found && !used && listen != "" && len(tg.Targets) > 0
	want := map[string]string{}
	if need {
		rows, err := d.Instances(ctx)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if slices.Contains(tg.Targets, r.ID) && r.Address != "" {
				want[r.ID] = r.Address
			}
		}
	}
	check := d.checkOf(tg.HealthCheck)
	settings := fmt.Sprintf("%+v %v %v", check, tg.DeregistrationDelay, tg.Replay)

	tb := &d.targets
	tb.mu.Lock()
	defer tb.mu.Unlock()
	cur := tb.runs[name]
	if cur != nil && (!need || cur.listen != listen || cur.tg != settings) {
		d.closeTargetBalancer(cur)
		delete(tb.runs, name)
		cur = nil
	}
	if !need {
		return nil
	}
	if cur == nil {
		if cur, err = d.openTargetBalancer(ctx, name, listen, check, tg); err != nil {
			return err
		}
		cur.tg = settings
		if tb.runs == nil {
			tb.runs = map[string]*targetBalancer{}
		}
		tb.runs[name] = cur
	}
	for id, addr := range want {
		if cur.targets[id] == addr {
			continue
		}
		if err := cur.bal.Register(addr); err != nil {
			return api.Failed(fmt.Errorf("target group %s: register %s: %w", name, id, err))
		}
		cur.targets[id] = addr
	}
	for id, addr := range cur.targets {
		if _, ok := want[id]; !ok {
			delete(cur.targets, id)
			// Its connections drain for the deregistration delay, aside.
			go cur.bal.Deregister(context.WithoutCancel(ctx), addr)
		}
	}
	return nil
}

// openTargetBalancer binds the listener's address and serves a balancer
// with no targets yet.
func (d *Daemon) openTargetBalancer(ctx context.Context, name, listen string, check health.Check, tg store.TargetGroup) (*targetBalancer, error) {
	b, err := balancer.New(balancer.Options{Check: check, DeregistrationDelay: limits.ScaledDrain(tg.DeregistrationDelay, limits.DefaultTimeScale),
		NoReplay: !tg.Replay, Probe: d.faults.checks.Probe(nil), Logger: d.log.With("target_group", name)})
	if err != nil {
		return nil, api.Failed(fmt.Errorf("target group %s balancer: %w", name, err))
	}
	addr, err := balancer.ListenAddr(listen)
	if err != nil {
		b.Close()
		return nil, api.Failed(err)
	}
	var ln net.Listener
	if d.cfg.Listeners != nil {
		ln, err = d.cfg.Listeners.Listen(ctx, addr)
	} else {
		var lc net.ListenConfig
		ln, err = lc.Listen(ctx, "tcp", addr)
	}
	if err != nil {
		b.Close()
		return nil, api.Failed(fmt.Errorf("target group %s: listen on %s: %w", name, addr, err))
	}
	d.mu.Lock()
	serveCtx := d.ctx
	d.mu.Unlock()
	if _, err := b.Start(context.WithoutCancel(serveCtx), ln); err != nil {
		b.Close()
		ln.Close()
		return nil, api.Failed(fmt.Errorf("target group %s: serve %s: %w", name, addr, err))
	}
	d.emit(api.Event{Kind: "listening", Message: fmt.Sprintf("target group %s: balancer on %s", name, ln.Addr())})
	return &targetBalancer{bal: b, listen: listen, bound: ln.Addr().String(), targets: map[string]string{}}, nil
}

func (d *Daemon) closeTargetBalancer(t *targetBalancer) {
	t.bal.Close()
	if d.cfg.Listeners != nil {
		d.cfg.Listeners.Release(t.bound)
	}
}

// closeTargetBalancers closes every target group's balancer, as the
// daemon stops.
func (d *Daemon) closeTargetBalancers() {
	tb := &d.targets
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for name, t := range tb.runs {
		d.closeTargetBalancer(t)
		delete(tb.runs, name)
	}
}

// TargetHealth is the health of the instances registered with target
// group name, by id, as its balancer checks them: "healthy",
// "unhealthy", "draining" or "initial"; none while it has no balancer.
func (d *Daemon) TargetHealth(name string) map[string]string {
	tb := &d.targets
	tb.mu.Lock()
	t := tb.runs[name]
	var targets map[string]string
	if t != nil {
		targets = maps.Clone(t.targets)
	}
	tb.mu.Unlock()
	out := map[string]string{}
	if t == nil {
		return out
	}
	byAddr := map[string]balancer.TargetStatus{}
	for _, s := range t.bal.Targets() {
		byAddr[s.Addr] = s
	}
	for id, addr := range targets {
		s, ok := byAddr[addr]
		switch {
		case !ok:
		case s.Draining:
			out[id] = "draining"
		default:
			out[id] = s.State.String()
		}
	}
	return out
}

// checkOf is a target group's health check as a balancer of the daemon's
// runs it: at the default time scale, never below the floors.
func (d *Daemon) checkOf(h health.Check) health.Check {
	p := limits.RunHealthPeriods(h.Interval, h.Timeout, h.UnhealthyThreshold, limits.DefaultTimeScale, *d.cfg.HealthFloors)
	h.Interval, h.Timeout = p.Interval, p.Timeout
	return h
}

// forgetTargets deregisters terminated instances from every target group,
// as ELB does.
func (d *Daemon) forgetTargets(ctx context.Context, ids []string) error {
	var changed []string
	err := d.state.db.Update(ctx, func(tx *store.Tx) error {
		tgs, err := tx.ListTargetGroups()
		if err != nil {
			return err
		}
		for _, tg := range tgs {
			kept := slices.DeleteFunc(slices.Clone(tg.Targets), func(id string) bool { return slices.Contains(ids, id) })
			if len(kept) == len(tg.Targets) {
				continue
			}
			tg.Targets = kept
			if err := tx.PutTargetGroup(&tg); err != nil {
				return err
			}
			changed = append(changed, tg.Name)
		}
		return nil
	})
	if err != nil {
		return api.Failed(fmt.Errorf("deregister terminated instances: %w", err))
	}
	var errs []error
	for _, name := range changed {
		errs = append(errs, d.SyncTargetGroup(ctx, name))
	}
	return errors.Join(errs...)
}
