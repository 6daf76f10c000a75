package autoscalingapi

import (
	"context"

	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire/autoscaling"
)

// A group's own metrics (GroupDesiredCapacity, GroupInServiceInstances,
// ... in AWS/AutoScaling) are not published: enabling them is refused,
// and disabling them, never enabled, succeeds, as it does on AWS.
// Infrastructure-as-code tools disable them on every update when not
// asked for.

func (a *AutoScaling) enableMetricsCollection(ctx context.Context, in *autoscaling.EnableMetricsCollectionInput) (*autoscaling.EnableMetricsCollectionOutput, error) {
	if _, _, err := a.group(ctx, in.AutoScalingGroupName); err != nil {
		return nil, err
	}
	return nil, awsapi.Validation("vmfleet does not publish a group's AWS/AutoScaling metrics; its instances' AWS/EC2 metrics are in CloudWatch")
}

func (a *AutoScaling) disableMetricsCollection(ctx context.Context, in *autoscaling.DisableMetricsCollectionInput) (*autoscaling.DisableMetricsCollectionOutput, error) {
	if _, _, err := a.group(ctx, in.AutoScalingGroupName); err != nil {
		return nil, err
	}
	return &autoscaling.DisableMetricsCollectionOutput{}, nil
}
