package autoscalingapi

import (
	"context"

	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire/autoscaling"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// attachTargetGroups puts an API group behind a target group: its
// instances become the target group's targets, and the load balancer
// forwarding to it sends them traffic.
func (a *AutoScaling) attachTargetGroups(ctx context.Context, in *autoscaling.AttachLoadBalancerTargetGroupsInput) (*autoscaling.AttachLoadBalancerTargetGroupsOutput, error) {
	g, f, err := a.group(ctx, in.AutoScalingGroupName)
	if err != nil {
		return nil, err
	}
	if !f.FromAPI() {
		return nil, awsapi.Validation("The group %s belongs to the fleet %s (%s); its balancer is the file's", g.Name, f.Name, f.File)
	}
	if len(in.TargetGroupARNs) == 1 && g.TargetGroup != "" && a.TargetGroups.TargetGroupARN(g.TargetGroup) == in.TargetGroupARNs[0] {
		return &autoscaling.AttachLoadBalancerTargetGroupsOutput{}, nil // attached already
	}
	if g.TargetGroup != "" {
		return nil, awsapi.Validation("The group %s is behind the target group %s; in vmfleet a group is behind one target group: detach it first", g.Name, g.TargetGroup)
	}
	if err := a.Store.View(ctx, func(tx *store.Tx) error { return a.attach(tx, &g, in.TargetGroupARNs) }); err != nil {
		return nil, err
	}
	if err := a.Runtime.UpdateGroup(ctx, g); err != nil {
		return nil, err
	}
	return &autoscaling.AttachLoadBalancerTargetGroupsOutput{}, nil
}

// detachTargetGroups takes an API group from behind its target group.
func (a *AutoScaling) detachTargetGroups(ctx context.Context, in *autoscaling.DetachLoadBalancerTargetGroupsInput) (*autoscaling.DetachLoadBalancerTargetGroupsOutput, error) {
	g, f, err := a.group(ctx, in.AutoScalingGroupName)
	if err != nil {
		return nil, err
	}
	if !f.FromAPI() {
		return nil, awsapi.Validation("The group %s belongs to the fleet %s (%s); its balancer is the file's", g.Name, f.Name, f.File)
	}
	for _, arn := range in.TargetGroupARNs {
		if g.TargetGroup == "" || a.TargetGroups.TargetGroupARN(g.TargetGroup) != arn {
			return nil, awsapi.Validation("Trying to remove Target Groups that are not part of the group: %s", arn)
		}
	}
	g.TargetGroup, g.LoadBalancer = "", ""
	if err := a.Runtime.UpdateGroup(ctx, g); err != nil {
		return nil, err
	}
	return &autoscaling.DetachLoadBalancerTargetGroupsOutput{}, nil
}
