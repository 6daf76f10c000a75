package autoscalingapi

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire/autoscaling"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// maxStandbyInstances is how many instances one EnterStandby or
// ExitStandby takes, as AWS bounds InstanceIds.
const maxStandbyInstances = 20

func (a *AutoScaling) terminateInstance(ctx context.Context, in *autoscaling.TerminateInstanceInAutoScalingGroupInput) (*autoscaling.TerminateInstanceInAutoScalingGroupOutput, error) {
	g, err := a.groupOfInstance(ctx, in.InstanceId)
	if err != nil {
		return nil, err
	}
	if in.ShouldDecrementDesiredCapacity && g.Desired-1 < g.Min {
		return nil, awsapi.Validation("Currently, desiredSize equals minSize (%d). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.", g.Min)
	}
	if err := a.Runtime.TerminateInGroup(ctx, in.InstanceId, in.ShouldDecrementDesiredCapacity); err != nil {
		return nil, err
	}
	cause := "an instance was taken out of service in response to a user request"
	if in.ShouldDecrementDesiredCapacity {
		cause += fmt.Sprintf(", shrinking the capacity from %d to %d", g.Desired, g.Desired-1)
	}
	act := a.instanceActivity(g.Name, "Terminating EC2 instance: "+in.InstanceId, cause)
	return &autoscaling.TerminateInstanceInAutoScalingGroupOutput{Activity: &act}, nil
}

func (a *AutoScaling) setInstanceHealth(ctx context.Context, in *autoscaling.SetInstanceHealthInput) (*autoscaling.SetInstanceHealthOutput, error) {
	if in.HealthStatus != "Healthy" && in.HealthStatus != "Unhealthy" {
		return nil, awsapi.Validation("Valid instance health states are: [Healthy, Unhealthy]; %s is not one", in.HealthStatus)
	}
	if _, err := a.groupOfInstance(ctx, in.InstanceId); err != nil {
		return nil, err
	}
	respect := in.ShouldRespectGracePeriod != nil && *in.ShouldRespectGracePeriod
	if err := a.Runtime.SetInstanceHealth(ctx, in.InstanceId, in.HealthStatus == "Healthy", respect); err != nil {
		return nil, err
	}
	return &autoscaling.SetInstanceHealthOutput{}, nil
}

func (a *AutoScaling) enterStandby(ctx context.Context, in *autoscaling.EnterStandbyInput) (*autoscaling.EnterStandbyOutput, error) {
	g, err := a.standbyInstances(ctx, in.AutoScalingGroupName, in.InstanceIds, api.InService)
	if err != nil {
		return nil, err
	}
	if in.ShouldDecrementDesiredCapacity && g.Desired-len(in.InstanceIds) < g.Min {
		return nil, awsapi.Validation("AutoScalingGroup %s has min-size=%d, max-size=%d, and desired-size=%d. To place into standby %d instances, please update the AutoScalingGroup sizes appropriately.",
			g.Name, g.Min, g.Max, g.Desired, len(in.InstanceIds))
	}
	out := &autoscaling.EnterStandbyOutput{Activities: []autoscaling.Activity{}}
	for _, id := range in.InstanceIds {
		if err := a.Runtime.EnterStandby(ctx, id, in.ShouldDecrementDesiredCapacity); err != nil {
			return nil, err
		}
		out.Activities = append(out.Activities, a.instanceActivity(g.Name, "Moving EC2 instance to Standby: "+id,
			"an instance was moved to standby in response to a user request"))
	}
	return out, nil
}

func (a *AutoScaling) exitStandby(ctx context.Context, in *autoscaling.ExitStandbyInput) (*autoscaling.ExitStandbyOutput, error) {
	g, err := a.standbyInstances(ctx, in.AutoScalingGroupName, in.InstanceIds, api.Standby)
	if err != nil {
		return nil, err
	}
	if g.Desired+len(in.InstanceIds) > g.Max {
		return nil, awsapi.Validation("AutoScalingGroup %s has min-size=%d, max-size=%d, and desired-size=%d. To bring %d instances out of standby, please update the AutoScalingGroup sizes appropriately.",
			g.Name, g.Min, g.Max, g.Desired, len(in.InstanceIds))
	}
	out := &autoscaling.ExitStandbyOutput{Activities: []autoscaling.Activity{}}
	for _, id := range in.InstanceIds {
		if err := a.Runtime.ExitStandby(ctx, id); err != nil {
			return nil, err
		}
		out.Activities = append(out.Activities, a.instanceActivity(g.Name, "Moving EC2 instance out of Standby: "+id,
			"an instance was moved out of standby in response to a user request"))
	}
	return out, nil
}

// standbyInstances is the group called name, once each of ids is its
// instance in state.
func (a *AutoScaling) standbyInstances(ctx context.Context, name string, ids []string, state string) (store.Group, error) {
	g, _, err := a.group(ctx, name)
	if err != nil {
		return g, err
	}
	if len(ids) == 0 || len(ids) > maxStandbyInstances {
		return g, awsapi.Validation("InstanceIds must name 1 to %d instances", maxStandbyInstances)
	}
	rows, err := a.Runtime.Instances(ctx)
	if err != nil {
		return g, err
	}
	for _, id := range ids {
		i := slices.IndexFunc(rows, func(r api.InstanceRow) bool { return r.ID == id && r.Fleet == g.Fleet && r.Service == g.Service })
		if i < 0 {
			return g, awsapi.Validation("The instance %s is not part of Auto Scaling group %s.", id, g.Name)
		}
		if rows[i].Phase != state {
			return g, awsapi.Validation("The instance %s is not in %s.", id, state)
		}
	}
	return g, nil
}

// groupOfInstance is the stored group whose instance id is.
func (a *AutoScaling) groupOfInstance(ctx context.Context, id string) (store.Group, error) {
	rows, err := a.Runtime.Instances(ctx)
	if err != nil {
		return store.Group{}, err
	}
	i := slices.IndexFunc(rows, func(r api.InstanceRow) bool { return r.ID == id && r.Fleet != "" })
	if i >= 0 {
		var groups []store.Group
		if err := a.Store.View(ctx, func(tx *store.Tx) (err error) { groups, err = tx.ListGroups(); return err }); err != nil {
			return store.Group{}, err
		}
		for _, g := range groups {
			if g.Fleet == rows[i].Fleet && g.Service == rows[i].Service {
				return g, nil
			}
		}
	}
	return store.Group{}, awsapi.Validation("Instance Id not found - No managed instance found for instance ID: %s", id)
}

// instanceActivity is the activity an operation on one instance starts,
// as its answer reports it.
func (a *AutoScaling) instanceActivity(group, description, cause string) autoscaling.Activity {
	now := time.Now().UTC()
	return autoscaling.Activity{ActivityId: uuid.NewString(), AutoScalingGroupName: group, Description: &description,
		Cause: fmt.Sprintf("At %s %s.", now.Format("2006-01-02T15:04:05Z"), cause), StartTime: now,
		StatusCode: "InProgress", Progress: new(int32(0)), Details: new(fmt.Sprintf(`{"Availability Zone":"%sa"}`, a.Region))}
}
