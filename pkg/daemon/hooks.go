package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/controller"
)

// CompleteLifecycleAction ends a lifecycle hook's action on an instance
// of fleet's group with result, as CompleteLifecycleAction does.
func (d *Daemon) CompleteLifecycleAction(ctx context.Context, fleet string, la api.LifecycleAction, result string) error {
	ctrl, err := d.controllerOf(fleet)
	if err != nil {
		return err
	}
	return actionError(ctrl.CompleteLifecycleAction(ctx, la, result))
}

// RecordLifecycleActionHeartbeat restarts the heartbeat timeout of a
// lifecycle hook's action on an instance of fleet's group.
func (d *Daemon) RecordLifecycleActionHeartbeat(ctx context.Context, fleet string, la api.LifecycleAction) error {
	ctrl, err := d.controllerOf(fleet)
	if err != nil {
		return err
	}
	return actionError(ctrl.RecordLifecycleActionHeartbeat(ctx, la))
}

// controllerOf is the running controller of fleet.
func (d *Daemon) controllerOf(fleet string) (*controller.Controller, error) {
	run := d.fleet(fleet, false)
	if run == nil || run.controller() == nil {
		return nil, api.Conflict(fmt.Errorf("fleet %s has no running controller", fleet))
	}
	return run.controller(), nil
}

func actionError(err error) error {
	if errors.Is(err, controller.ErrNoLifecycleAction) {
		return api.Invalid(err)
	}
	return err
}
