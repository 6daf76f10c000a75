package autoscalingapi

import (
	"context"
	"errors"

	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire/autoscaling"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// group is the stored group called name, or AWS's error for it.
func (a *AutoScaling) group(ctx context.Context, name string) (store.Group, store.Fleet, error) {
	var g store.Group
	var f store.Fleet
	err := a.Store.View(ctx, func(tx *store.Tx) (err error) {
		if g, err = tx.GetGroup(name); err != nil {
			return err
		}
		f, err = tx.GetFleet(g.Fleet)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return g, f, awsapi.Validation("AutoScalingGroup name not found - AutoScalingGroup '%s' not found", name)
	}
	return g, f, err
}

func (a *AutoScaling) setDesiredCapacity(ctx context.Context, in *autoscaling.SetDesiredCapacityInput) (*autoscaling.SetDesiredCapacityOutput, error) {
	g, _, err := a.group(ctx, in.AutoScalingGroupName)
	if err != nil {
		return nil, err
	}
	n := int(in.DesiredCapacity)
	if n < g.Min {
		return nil, awsapi.Validation("New SetDesiredCapacity value %d is below min value %d for the AutoScalingGroup.", n, g.Min)
	}
	if n > g.Max {
		return nil, awsapi.Validation("New SetDesiredCapacity value %d is above max value %d for the AutoScalingGroup.", n, g.Max)
	}
	if err := a.Runtime.SetDesiredCapacity(ctx, g.Name, n); err != nil {
		return nil, err
	}
	return &autoscaling.SetDesiredCapacityOutput{}, nil
}

func (a *AutoScaling) updateGroup(ctx context.Context, in *autoscaling.UpdateAutoScalingGroupInput) (*autoscaling.UpdateAutoScalingGroupOutput, error) {
	g, f, err := a.group(ctx, in.AutoScalingGroupName)
	if err != nil {
		return nil, err
	}
	if !f.FromAPI() {
		return nil, awsapi.Validation("The group %s belongs to the fleet %s (%s); change it there and run vmfleet up", g.Name, f.Name, f.File)
	}
	if in.LaunchConfigurationName != nil || in.MixedInstancesPolicy != nil {
		return nil, awsapi.Validation("vmfleet's groups launch from a launch template")
	}
	if err := a.checkPlacement(in.VPCZoneIdentifier, in.AvailabilityZones); err != nil {
		return nil, err
	}
	if in.MinSize != nil {
		g.Min = int(*in.MinSize)
	}
	if in.MaxSize != nil {
		g.Max = int(*in.MaxSize)
	}
	if in.DesiredCapacity != nil {
		g.Desired = int(*in.DesiredCapacity)
	} else {
		// AWS moves the desired count into new bounds.
		g.Desired = min(max(g.Desired, g.Min), g.Max)
	}
	if err := setSettings(&g, settings{in.HealthCheckType, in.HealthCheckGracePeriod, in.DefaultInstanceWarmup, in.TerminationPolicies}); err != nil {
		return nil, err
	}
	if in.LaunchTemplate != nil {
		if err := a.Store.View(ctx, func(tx *store.Tx) error { return a.launchTemplate(tx, &g, in.LaunchTemplate) }); err != nil {
			return nil, err
		}
	}
	if err := a.Runtime.UpdateGroup(ctx, g); err != nil {
		return nil, err
	}
	return &autoscaling.UpdateAutoScalingGroupOutput{}, nil
}

func (a *AutoScaling) deleteGroup(ctx context.Context, in *autoscaling.DeleteAutoScalingGroupInput) (*autoscaling.DeleteAutoScalingGroupOutput, error) {
	g, f, err := a.group(ctx, in.AutoScalingGroupName)
	if err != nil {
		return nil, err
	}
	if !f.FromAPI() {
		return nil, awsapi.Validation("The group %s belongs to the fleet %s (%s); take the fleet down with vmfleet down --fleet %s", g.Name, f.Name, f.File, f.Name)
	}
	force := in.ForceDelete != nil && *in.ForceDelete
	if !force {
		rows, err := a.Runtime.Instances(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if r.Fleet == g.Fleet && r.Service == g.Service {
				return nil, a.fault("ResourceInUse", "You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.")
			}
		}
	}
	if err := a.Runtime.DeleteGroup(ctx, g.Name); err != nil {
		return nil, err
	}
	return &autoscaling.DeleteAutoScalingGroupOutput{}, nil
}
