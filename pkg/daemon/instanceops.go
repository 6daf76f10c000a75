package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/controller"
	"github.com/vmfleet/vmfleet/pkg/instance"
)

// Auto Scaling's operations on one instance of a group. The controller
// acts first, with any change of the desired count, which is stored
// after (see controller.TerminateInstance).

// TerminateInGroup terminates an instance of a group; with decrement the
// group's desired count drops by one, else a replacement launches.
func (d *Daemon) TerminateInGroup(ctx context.Context, id string, decrement bool) error {
	return d.onGroupInstance(ctx, id, func(c *controller.Controller) (controller.Detached, error) {
		return c.TerminateInstance(ctx, id, decrement)
	})
}

// SetInstanceHealth replaces an instance set Unhealthy, as a failed
// health check would; Healthy changes nothing.
func (d *Daemon) SetInstanceHealth(ctx context.Context, id string, healthy, respectGrace bool) error {
	return d.onGroupInstance(ctx, id, func(c *controller.Controller) (controller.Detached, error) {
		if healthy {
			return controller.Detached{}, nil
		}
		return controller.Detached{}, c.MarkUnhealthy(ctx, id, respectGrace)
	})
}

// EnterStandby takes an instance out of service and out of its group's
// count while it runs; without decrement a replacement launches.
func (d *Daemon) EnterStandby(ctx context.Context, id string, decrement bool) error {
	return d.onGroupInstance(ctx, id, func(c *controller.Controller) (controller.Detached, error) {
		det, err := c.EnterStandby(ctx, id, decrement)
		if err == nil {
			err = d.rememberStandby(ctx, id, true)
		}
		return det, err
	})
}

// ExitStandby puts an instance in standby back in service, one more in
// its group's desired count.
func (d *Daemon) ExitStandby(ctx context.Context, id string) error {
	return d.onGroupInstance(ctx, id, func(c *controller.Controller) (controller.Detached, error) {
		det, err := c.ExitStandby(ctx, id)
		if err == nil {
			err = d.rememberStandby(ctx, id, false)
		}
		return det, err
	})
}

// rememberStandby keeps an instance's standby in its domain's metadata,
// the truth a restarted controller adopts it by.
func (d *Daemon) rememberStandby(ctx context.Context, id string, on bool) error {
	inst, err := d.instances.Get(ctx, id)
	if err == nil {
		err = d.instances.SetStandby(ctx, inst, on)
	}
	if err != nil {
		return api.Failed(fmt.Errorf("instance %s: keep its standby: %w", id, err))
	}
	return nil
}

// onGroupInstance runs op on the controller of instance id's fleet and
// stores the desired count it left.
func (d *Daemon) onGroupInstance(ctx context.Context, id string, op func(*controller.Controller) (controller.Detached, error)) error {
	inst, err := d.instances.Get(ctx, id)
	if errors.Is(err, instance.ErrNoInstance) || err == nil && (inst.Fleet == "" || !d.owns(inst)) {
		return api.Invalid(fmt.Errorf("Instance Id not found - No managed instance found for instance ID: %s", id))
	}
	if err != nil {
		return api.Failed(err)
	}
	ctrl, err := d.controllerOf(inst.Fleet)
	if err != nil {
		return err
	}
	det, err := op(ctrl)
	if err != nil {
		var ae *api.Error
		if errors.As(err, &ae) {
			return err
		}
		if errors.Is(err, controller.ErrNoInstance) {
			return api.Invalid(fmt.Errorf("Instance Id not found - No managed instance found for instance ID: %s", id))
		}
		return api.Invalid(err)
	}
	if det.Service == "" {
		return nil
	}
	_, err = d.Scale(ctx, inst.Fleet, map[string]int{det.Service: det.Desired})
	return err
}
