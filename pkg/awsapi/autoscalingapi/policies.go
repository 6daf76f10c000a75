package autoscalingapi

import (
	"context"
	"slices"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire/autoscaling"
	"github.com/vmfleet/vmfleet/pkg/limits"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// metricOf is vmfleet's name of an AWS predefined metric, or "".
func metricOf(predefined string) string {
	for _, m := range limits.Metrics() {
		if limits.AWSMetric(m) == predefined {
			return m
		}
	}
	return ""
}

// putScalingPolicy adds or replaces a target tracking policy of an API
// group; its controller tracks it at once.
func (a *AutoScaling) putScalingPolicy(ctx context.Context, in *autoscaling.PutScalingPolicyInput) (*autoscaling.PutScalingPolicyOutput, error) {
	g, f, err := a.group(ctx, in.AutoScalingGroupName)
	if err != nil {
		return nil, err
	}
	if !f.FromAPI() {
		return nil, awsapi.Validation("The group %s belongs to the fleet %s (%s); give its scaling in the fleet file", g.Name, f.Name, f.File)
	}
	if in.PolicyType == nil || *in.PolicyType != "TargetTrackingScaling" {
		return nil, awsapi.Validation("vmfleet runs target tracking policies: give PolicyType TargetTrackingScaling")
	}
	tt := in.TargetTrackingConfiguration
	if tt == nil || tt.PredefinedMetricSpecification == nil {
		return nil, awsapi.Validation("A target tracking policy needs a TargetTrackingConfiguration with a PredefinedMetricSpecification")
	}
	metric := metricOf(tt.PredefinedMetricSpecification.PredefinedMetricType)
	if metric == "" {
		return nil, awsapi.Validation("PredefinedMetricType '%s' is not one vmfleet tracks: ASGAverageCPUUtilization, ASGAverageNetworkIn, ASGAverageNetworkOut or ALBRequestCountPerTarget", tt.PredefinedMetricSpecification.PredefinedMetricType)
	}
	if metric == limits.MetricRequestCountPerTarget && g.TargetGroup == "" {
		return nil, awsapi.Validation("ALBRequestCountPerTarget needs the group behind a target group")
	}
	if err := limits.CheckTarget(metric, tt.TargetValue); err != nil {
		return nil, awsapi.Validation("TargetValue %g: %v", tt.TargetValue, err)
	}
	p := store.TargetTrackingPolicy{Name: in.PolicyName, Metric: metric, Target: tt.TargetValue}
	if i := slices.IndexFunc(g.Policies, func(q store.TargetTrackingPolicy) bool { return q.PolicyName() == in.PolicyName }); i >= 0 {
		g.Policies[i] = p
	} else {
		g.Policies = append(g.Policies, p)
	}
	g.Scaling = true
	g.DisableScaleIn = tt.DisableScaleIn != nil && *tt.DisableScaleIn
	if in.EstimatedInstanceWarmup != nil {
		g.InstanceWarmup = time.Duration(*in.EstimatedInstanceWarmup) * time.Second
	}
	if err := a.Runtime.UpdateGroup(ctx, g); err != nil {
		return nil, err
	}
	return &autoscaling.PutScalingPolicyOutput{PolicyARN: new(a.policyARN(g.Name, in.PolicyName)), Alarms: []autoscaling.Alarm{}}, nil
}

func (a *AutoScaling) policyARN(group, name string) string {
	return a.groupARN(group) + ":policyName/" + name
}

func (a *AutoScaling) describePolicies(ctx context.Context, in *autoscaling.DescribePoliciesInput) (*autoscaling.DescribePoliciesOutput, error) {
	d, err := a.read(ctx)
	if err != nil {
		return nil, err
	}
	out := &autoscaling.DescribePoliciesOutput{ScalingPolicies: []autoscaling.ScalingPolicy{}}
	for _, g := range d.groups {
		if in.AutoScalingGroupName != nil && *in.AutoScalingGroupName != g.Name {
			continue
		}
		for _, p := range g.Policies {
			name := p.PolicyName()
			if len(in.PolicyNames) > 0 && !slices.Contains(in.PolicyNames, name) {
				continue
			}
			out.ScalingPolicies = append(out.ScalingPolicies, autoscaling.ScalingPolicy{
				AutoScalingGroupName: new(g.Name), PolicyName: new(name), PolicyARN: new(a.policyARN(g.Name, name)),
				PolicyType: new("TargetTrackingScaling"), Enabled: new(true), Alarms: []autoscaling.Alarm{},
				TargetTrackingConfiguration: &autoscaling.TargetTrackingConfiguration{
					PredefinedMetricSpecification: &autoscaling.PredefinedMetricSpecification{PredefinedMetricType: limits.AWSMetric(p.Metric)},
					TargetValue:                   p.Target, DisableScaleIn: new(g.DisableScaleIn),
				},
			})
		}
	}
	return out, nil
}

func (a *AutoScaling) deletePolicy(ctx context.Context, in *autoscaling.DeletePolicyInput) (*autoscaling.DeletePolicyOutput, error) {
	if in.AutoScalingGroupName == nil {
		return nil, awsapi.Validation("vmfleet's policies are named within their group: give AutoScalingGroupName")
	}
	g, f, err := a.group(ctx, *in.AutoScalingGroupName)
	if err != nil {
		return nil, err
	}
	if !f.FromAPI() {
		return nil, awsapi.Validation("The group %s belongs to the fleet %s (%s); change its scaling in the fleet file", g.Name, f.Name, f.File)
	}
	i := slices.IndexFunc(g.Policies, func(q store.TargetTrackingPolicy) bool { return q.PolicyName() == in.PolicyName })
	if i < 0 {
		return nil, awsapi.Validation("Policy %s not found in group %s", in.PolicyName, g.Name)
	}
	g.Policies = slices.Delete(g.Policies, i, i+1)
	g.Scaling = len(g.Policies) > 0
	if err := a.Runtime.UpdateGroup(ctx, g); err != nil {
		return nil, err
	}
	return &autoscaling.DeletePolicyOutput{}, nil
}

// setInstanceProtection protects instances of a group from scale-in.
func (a *AutoScaling) setInstanceProtection(ctx context.Context, in *autoscaling.SetInstanceProtectionInput) (*autoscaling.SetInstanceProtectionOutput, error) {
	g, _, err := a.group(ctx, in.AutoScalingGroupName)
	if err != nil {
		return nil, err
	}
	rows, err := a.Runtime.Instances(ctx)
	if err != nil {
		return nil, err
	}
	for _, id := range in.InstanceIds {
		if !slices.ContainsFunc(rows, func(r api.InstanceRow) bool { return r.ID == id && r.Fleet == g.Fleet && r.Service == g.Service }) {
			return nil, awsapi.Validation("The instance %s is not part of Auto Scaling group %s.", id, g.Name)
		}
	}
	for _, id := range in.InstanceIds {
		if err := a.Runtime.Protect(ctx, id, in.ProtectedFromScaleIn); err != nil {
			return nil, err
		}
	}
	return &autoscaling.SetInstanceProtectionOutput{}, nil
}
