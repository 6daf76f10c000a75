package autoscalingapi

import (
	"context"
	"slices"
	"strings"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire/autoscaling"
	"github.com/vmfleet/vmfleet/pkg/limits"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// putWarmPool gives an API group a warm pool, or changes it: the same
// pool a fleet file's warm_pool makes.
func (a *AutoScaling) putWarmPool(ctx context.Context, in *autoscaling.PutWarmPoolInput) (*autoscaling.PutWarmPoolOutput, error) {
	g, err := a.apiGroup(ctx, in.AutoScalingGroupName, "warm pool through the API (give it warm_pool in the file)")
	if err != nil {
		return nil, err
	}
	w := store.WarmPool{MaxGroupPreparedCapacity: -1, PoolState: limits.DefaultPoolState}
	if in.MinSize != nil {
		if err := limits.CheckPoolSize(int(*in.MinSize)); err != nil {
			return nil, awsapi.Validation("MinSize %d: %v", *in.MinSize, err)
		}
		w.MinSize = int(*in.MinSize)
	}
	if m := in.MaxGroupPreparedCapacity; m != nil {
		if *m < -1 {
			return nil, awsapi.Validation("MaxGroupPreparedCapacity %d must be -1 (the group's max size) or more", *m)
		}
		if *m >= 0 && int(*m) < w.MinSize {
			return nil, awsapi.Validation("MaxGroupPreparedCapacity %d is below the warm pool's MinSize %d", *m, w.MinSize)
		}
		w.MaxGroupPreparedCapacity = int(*m)
	}
	if in.PoolState != nil {
		state := strings.ToLower(*in.PoolState)
		if !slices.Contains(limits.PoolStates(), state) {
			return nil, awsapi.Validation("PoolState '%s' must be Stopped, Running or Hibernated", *in.PoolState)
		}
		w.PoolState = state
	}
	if p := in.InstanceReusePolicy; p != nil && p.ReuseOnScaleIn != nil {
		w.ReuseOnScaleIn = *p.ReuseOnScaleIn
	}
	g.WarmPool = &w
	if err := a.Runtime.UpdateGroup(ctx, g); err != nil {
		return nil, err
	}
	return &autoscaling.PutWarmPoolOutput{}, nil
}

func (a *AutoScaling) describeWarmPool(ctx context.Context, in *autoscaling.DescribeWarmPoolInput) (*autoscaling.DescribeWarmPoolOutput, error) {
	g, _, err := a.group(ctx, in.AutoScalingGroupName)
	if err != nil {
		return nil, err
	}
	out := &autoscaling.DescribeWarmPoolOutput{Instances: []autoscaling.Instance{}}
	w := g.WarmPool
	if w == nil {
		return out, nil
	}
	out.WarmPoolConfiguration = warmPoolConfiguration(w)
	d, rows, err := a.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if r.Fleet != g.Fleet || r.Service != g.Service {
			continue
		}
		i := a.instance(r, d)
		if !strings.HasPrefix(i.LifecycleState, "Warmed:") {
			continue
		}
		out.Instances = append(out.Instances, groupInstance(i))
	}
	return out, nil
}

// deleteWarmPool removes an API group's warm pool and its instances.
func (a *AutoScaling) deleteWarmPool(ctx context.Context, in *autoscaling.DeleteWarmPoolInput) (*autoscaling.DeleteWarmPoolOutput, error) {
	g, err := a.apiGroup(ctx, in.AutoScalingGroupName, "warm pool through the API (remove warm_pool from the file)")
	if err != nil {
		return nil, err
	}
	if g.WarmPool == nil {
		return nil, awsapi.Validation("No warm pool found for group %s", g.Name)
	}
	g.WarmPool = nil
	if err := a.Runtime.UpdateGroup(ctx, g); err != nil {
		return nil, err
	}
	return &autoscaling.DeleteWarmPoolOutput{}, nil
}

// warmPoolConfiguration is w as Auto Scaling describes it.
func warmPoolConfiguration(w *store.WarmPool) *autoscaling.WarmPoolConfiguration {
	return &autoscaling.WarmPoolConfiguration{MinSize: new(int32(w.MinSize)), MaxGroupPreparedCapacity: new(int32(w.MaxGroupPreparedCapacity)),
		PoolState: new(strings.TrimPrefix(api.WarmedState(w.PoolState), "Warmed:")), InstanceReusePolicy: &autoscaling.InstanceReusePolicy{ReuseOnScaleIn: new(w.ReuseOnScaleIn)}}
}
