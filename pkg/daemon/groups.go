package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/health"
	"github.com/vmfleet/vmfleet/pkg/image"
	"github.com/vmfleet/vmfleet/pkg/limits"
	"github.com/vmfleet/vmfleet/pkg/stack"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// An Auto Scaling group made through the AWS API runs as a fleet of its
// one group, named after it: `vmfleet ls`, `ps`, `scale` and `down` act
// on it as on a fleet file's, and a restarted daemon resumes it from the
// store like any fleet.

// CreateGroup stores and starts g, whose launch template version and
// target group the caller has checked exist. A group that fails to start
// leaves nothing behind.
func (d *Daemon) CreateGroup(ctx context.Context, g store.Group) error {
	if d.fleet(g.Name, false) != nil || d.state.has(ctx, g.Name) {
		return api.Conflict(fmt.Errorf("a fleet or group named %s exists", g.Name))
	}
	run := d.fleet(g.Name, true)
	_, end, err := run.beginOp(ctx, false)
	if err != nil {
		return err
	}
	defer end()
	// Another create of the name may have stored it while this one
	// waited for the op.
	if run.controller() != nil || d.state.has(ctx, g.Name) {
		return api.Conflict(fmt.Errorf("a fleet or group named %s exists", g.Name))
	}
	g.Fleet, g.Service = g.Name, g.Name
	// The cause of the first launches, in the activity history.
	d.emit(api.Event{Fleet: g.Name, Service: g.Name, Kind: "created", Message: fmt.Sprintf("desired 0 -> %d", g.Desired)})
	st, images, err := d.groupStack(ctx, g)
	if err == nil {
		err = d.start(&st, images)
	}
	if err != nil {
		d.forget(run)
		if derr := d.state.discard(context.WithoutCancel(ctx), &st); derr != nil {
			d.log.Warn("forget a group that did not start", "group", g.Name, "err", derr)
		}
		return err
	}
	return nil
}

// UpdateGroup stores g, a changed API group, and hands it to its
// controller: a new launch template version rolls it, a listener or
// target group changed rebinds its balancer.
func (d *Daemon) UpdateGroup(ctx context.Context, g store.Group) error {
	run := d.fleet(g.Fleet, false)
	if run == nil {
		return api.NotFound(fmt.Errorf("no group named %s runs", g.Name))
	}
	opCtx, end, err := run.beginOp(ctx, false)
	if err != nil {
		return err
	}
	defer end()
	run.mu.Lock()
	cur, running := run.rec, run.ctrl != nil
	run.mu.Unlock()
	if !running || cur == nil {
		return api.Conflict(fmt.Errorf("group %s has no running controller", g.Name))
	}
	if !cur.Fleet.FromAPI() {
		return api.Invalid(fmt.Errorf("the group %s belongs to the fleet %s (%s); change it there and run vmfleet up", g.Name, cur.Fleet.Name, cur.Fleet.File))
	}
	st, images, err := d.groupStack(opCtx, g)
	if err != nil {
		return err
	}
	st.Fleet = cur.Fleet
	if svc := cur.Service(g.Service); svc != nil {
		st.Services[0].LoadBalancer.Listener.Bound = svc.LoadBalancer.Listener.Bound
	}
	if err := d.reload(opCtx, run, &st, images); err != nil {
		return err
	}
	d.watchRefresh(g)
	return nil
}

// RebindGroups reloads the API groups attached to the target group tg:
// a listener forwarding to it was made or removed.
func (d *Daemon) RebindGroups(ctx context.Context, tg string) error {
	var attached []store.Group
	err := d.state.db.View(ctx, func(tx *store.Tx) error {
		groups, err := tx.ListGroups()
		for _, g := range groups {
			if g.TargetGroup == tg && g.Fleet == g.Name {
				attached = append(attached, g)
			}
		}
		return err
	})
	if err != nil {
		return api.Failed(err)
	}
	for _, g := range attached {
		if err := d.UpdateGroup(ctx, g); err != nil {
			return err
		}
	}
	return d.SyncTargetGroup(ctx, tg)
}

// DeleteGroup takes an API group down: its instances terminate, its
// record goes; its launch template, target group and load balancer stay.
func (d *Daemon) DeleteGroup(ctx context.Context, name string) error {
	if err := d.Down(ctx, name, limits.DefaultStopTimeout); err != nil {
		return err
	}
	return nil
}

// groupStack is the stack of an API group: the launch template version
// it launches, its target group, and the load balancer whose listener
// forwards to that target group, if one does.
func (d *Daemon) groupStack(ctx context.Context, g store.Group) (stack.Stack, map[string]*image.Manifest, error) {
	// Its periods run at the default time scale, as a fleet file's that
	// sets none (without one, a controller runs AWS's own time).
	st := stack.Stack{Fleet: store.Fleet{Name: g.Name, Groups: []string{g.Name}, TimeScale: limits.DefaultTimeScale}}
	svc := stack.Service{Name: g.Name, Group: g}
	svc.Group.LoadBalancer = ""
	err := d.state.db.View(ctx, func(tx *store.Tx) (err error) {
		if svc.LaunchTemplate, err = tx.LaunchTemplateVersion(g.LaunchTemplate, g.LaunchTemplateVersion); err != nil {
			return err
		}
		if g.TargetGroup == "" {
			// No target group to check it: an instance is in service once
			// its service port answers, as an EC2 status check passes
			// once the instance is up.
			svc.TargetGroup.HealthCheck = health.DefaultCheck()
			svc.TargetGroup.HealthCheck.Type, svc.TargetGroup.HealthCheck.Path = health.TypeTCP, ""
			return nil
		}
		if svc.TargetGroup, err = tx.GetTargetGroup(g.TargetGroup); err != nil {
			return err
		}
		lbs, err := tx.ListLoadBalancers()
		for _, lb := range lbs {
			if lb.Listener.Listen != "" && lb.Listener.TargetGroup == g.TargetGroup {
				svc.LoadBalancer, svc.Group.LoadBalancer = lb, lb.Name
			}
		}
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return st, nil, api.NotFound(err)
	}
	if err != nil {
		return st, nil, api.Failed(err)
	}
	st.Services = []stack.Service{svc}
	m, err := d.images.Get(svc.LaunchTemplate.ImageDigest)
	if err != nil {
		return st, nil, api.Invalid(fmt.Errorf("group %s: the image of launch template %s: %w", g.Name, svc.LaunchTemplate.Ref(), err))
	}
	return st, map[string]*image.Manifest{g.Name: m}, nil
}

// SetDesiredCapacity sets the desired count of the group called name, a
// fleet file's or an API one, as scale does.
func (d *Daemon) SetDesiredCapacity(ctx context.Context, name string, n int) error {
	var g store.Group
	err := d.state.db.View(ctx, func(tx *store.Tx) (err error) {
		g, err = tx.GetGroup(name)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return api.NotFound(fmt.Errorf("no group named %s", name))
	} else if err != nil {
		return api.Failed(err)
	}
	_, err = d.Scale(ctx, g.Fleet, map[string]int{g.Service: n})
	return err
}
