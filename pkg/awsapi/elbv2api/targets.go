package elbv2api

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire/elbv2"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// registerTargets puts standalone instances (RunInstances, `vmfleet run`)
// behind a target group that no Auto Scaling group uses; the daemon
// balances the listener forwarding to it over them.
func (e *ELBv2) registerTargets(ctx context.Context, in *elbv2.RegisterTargetsInput) (*elbv2.RegisterTargetsOutput, error) {
	name, ids, err := e.targetsOf(ctx, in.TargetGroupArn, in.Targets, true)
	if err != nil {
		return nil, err
	}
	err = e.changeTargets(ctx, name, func(tg *store.TargetGroup) error {
		for _, id := range ids {
			if !slices.Contains(tg.Targets, id) {
				tg.Targets = append(tg.Targets, id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &elbv2.RegisterTargetsOutput{}, nil
}

// deregisterTargets takes registered instances from behind a target
// group; their connections drain for its deregistration delay.
func (e *ELBv2) deregisterTargets(ctx context.Context, in *elbv2.DeregisterTargetsInput) (*elbv2.DeregisterTargetsOutput, error) {
	name, ids, err := e.targetsOf(ctx, in.TargetGroupArn, in.Targets, false)
	if err != nil {
		return nil, err
	}
	err = e.changeTargets(ctx, name, func(tg *store.TargetGroup) error {
		for _, id := range ids {
			if !slices.Contains(tg.Targets, id) {
				return e.fault("InvalidTarget", fmt.Sprintf("The following targets are not registered in target group '%s': '%s'", name, id))
			}
		}
		tg.Targets = slices.DeleteFunc(tg.Targets, func(id string) bool { return slices.Contains(ids, id) })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &elbv2.DeregisterTargetsOutput{}, nil
}

// targetsOf checks a Register/DeregisterTargets request: the target
// group's name and the instance ids, each a standalone instance that
// answers on the target's port when registering.
func (e *ELBv2) targetsOf(ctx context.Context, arn string, targets []elbv2.TargetDescription, registering bool) (string, []string, error) {
	name, err := e.TargetGroupName(arn)
	if err != nil {
		return "", nil, err
	}
	if len(targets) == 0 {
		return "", nil, awsapi.Validation("Targets must contain at least one target")
	}
	var tg store.TargetGroup
	err = e.Store.View(ctx, func(tx *store.Tx) error {
		if tg, err = tx.GetTargetGroup(name); errors.Is(err, store.ErrNotFound) {
			return e.fault("TargetGroupNotFound", "One or more target groups not found")
		}
		return err
	})
	if err != nil {
		return "", nil, err
	}
	rows, err := e.Runtime.Instances(ctx)
	if err != nil {
		return "", nil, err
	}
	ids := make([]string, 0, len(targets))
	for _, t := range targets {
		ids = append(ids, t.Id)
		if !registering {
			continue
		}
		i := slices.IndexFunc(rows, func(r api.InstanceRow) bool { return r.ID == t.Id })
		if i < 0 {
			return "", nil, e.fault("InvalidTarget", fmt.Sprintf("Instance ID '%s' is not valid", t.Id))
		}
		r := rows[i]
		if r.Fleet != "" {
			return "", nil, e.fault("InvalidTarget", fmt.Sprintf("Instance '%s' is in the Auto Scaling group %s, which registers it with its own target group; in vmfleet RegisterTargets takes standalone instances", t.Id, r.Fleet))
		}
		if r.State != "running" {
			return "", nil, e.fault("InvalidTarget", fmt.Sprintf("The following targets are not in a running state and cannot be registered: '%s'", t.Id))
		}
		port := tg.Port
		if t.Port != nil {
			port = int(*t.Port)
		}
		if port != r.GuestPort {
			return "", nil, e.fault("InvalidTarget", fmt.Sprintf("Instance '%s' is reachable on its service port %d only (vmfleet forwards that one); register it on port %d", t.Id, r.GuestPort, r.GuestPort))
		}
	}
	return name, ids, nil
}

// changeTargets changes the target group's registered instances in the
// store, refusing a group's target group, then hands the change to the
// balancer.
func (e *ELBv2) changeTargets(ctx context.Context, name string, change func(*store.TargetGroup) error) error {
	err := e.Store.Update(ctx, func(tx *store.Tx) error {
		tg, err := tx.GetTargetGroup(name)
		if errors.Is(err, store.ErrNotFound) {
			return e.fault("TargetGroupNotFound", "One or more target groups not found")
		} else if err != nil {
			return err
		}
		groups, err := tx.ListGroups()
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(groups, func(g store.Group) bool { return g.TargetGroup == name }); i >= 0 {
			return awsapi.Validation("The target group %s is in front of the Auto Scaling group %s, which registers its own instances; in vmfleet a target group is in front of one group or of registered instances", name, groups[i].Name)
		}
		if err := change(&tg); err != nil {
			return err
		}
		return tx.PutTargetGroup(&tg)
	})
	if err != nil {
		return err
	}
	return e.Runtime.RebindGroups(ctx, name)
}
