package autoscalingapi

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire/autoscaling"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// AWS's defaults for an instance refresh's preferences.
const (
	defaultMinHealthy = 90
	defaultMaxHealthy = 100
)

func (a *AutoScaling) startRefresh(ctx context.Context, in *autoscaling.StartInstanceRefreshInput) (*autoscaling.StartInstanceRefreshOutput, error) {
	g, f, err := a.group(ctx, in.AutoScalingGroupName)
	if err != nil {
		return nil, err
	}
	if !f.FromAPI() {
		return nil, awsapi.Validation("The group %s belongs to the fleet %s (%s); a new launch template there rolls it on vmfleet up", g.Name, f.Name, f.File)
	}
	if g.Refresh.Active() {
		return nil, a.fault("InstanceRefreshInProgress", "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.")
	}
	if in.Strategy != nil && *in.Strategy != "Rolling" {
		return nil, awsapi.Validation("Strategy must be Rolling")
	}
	r := store.InstanceRefresh{ID: uuid.NewString(), Status: store.RefreshInProgress, From: g.LaunchTemplateVersion, FromAlias: g.LaunchTemplateAlias,
		MinHealthy: defaultMinHealthy, MaxHealthy: defaultMaxHealthy, Start: refreshStart()}
	if p := in.Preferences; p != nil {
		if p.AlarmSpecification != nil || p.BakeTime != nil {
			return nil, awsapi.Validation("vmfleet does not run alarms or bake time in an instance refresh yet")
		}
		if err := setCheckpoints(&r, p.CheckpointPercentages, p.CheckpointDelay); err != nil {
			return nil, err
		}
		r.AutoRollback = p.AutoRollback != nil && *p.AutoRollback
		if p.MinHealthyPercentage != nil {
			r.MinHealthy = int(*p.MinHealthyPercentage)
		}
		if p.MaxHealthyPercentage != nil {
			r.MaxHealthy = int(*p.MaxHealthyPercentage)
		}
		if p.SkipMatching != nil {
			r.SkipMatching = *p.SkipMatching
		}
		if p.InstanceWarmup != nil {
			r.Warmup = time.Duration(*p.InstanceWarmup) * time.Second
		}
	}
	switch {
	case r.MinHealthy < 0 || r.MinHealthy > 100:
		return nil, awsapi.Validation("MinHealthyPercentage must be from 0 to 100")
	case r.MaxHealthy < 100 || r.MaxHealthy > 200:
		return nil, awsapi.Validation("MaxHealthyPercentage must be from 100 to 200")
	case r.MaxHealthy-r.MinHealthy > 100:
		return nil, awsapi.Validation("The difference between MaxHealthyPercentage and MinHealthyPercentage must be 100 or less")
	case r.MaxHealthy == r.MinHealthy:
		return nil, awsapi.Validation("MaxHealthyPercentage must be more than MinHealthyPercentage, or no instance could be replaced")
	}
	if dc := in.DesiredConfiguration; dc != nil {
		if dc.MixedInstancesPolicy != nil {
			return nil, awsapi.Validation("vmfleet's groups launch from a launch template")
		}
		if dc.LaunchTemplate != nil {
			if err := a.Store.View(ctx, func(tx *store.Tx) error { return a.launchTemplate(tx, &g, dc.LaunchTemplate) }); err != nil {
				return nil, err
			}
		}
	}
	r.To, r.Desired = g.LaunchTemplateVersion, in.DesiredConfiguration != nil && in.DesiredConfiguration.LaunchTemplate != nil
	if r.AutoRollback && !r.Reversible(g.LaunchTemplateAlias) {
		return nil, a.fault("IrreversibleInstanceRefresh", irreversible)
	}
	rows, err := a.Runtime.Instances(ctx)
	if err != nil {
		return nil, err
	}
	ref := fmt.Sprintf("%s:%d", g.LaunchTemplate, r.To)
	for _, row := range rows {
		if row.Fleet == g.Fleet && row.Service == g.Service && !strings.HasPrefix(row.Phase, "Warmed:") && (!r.SkipMatching || row.LaunchTemplate != ref) {
			r.ToUpdate++
		}
	}
	g.Refresh = &r
	if err := a.Runtime.UpdateGroup(ctx, g); err != nil {
		return nil, err
	}
	return &autoscaling.StartInstanceRefreshOutput{InstanceRefreshId: new(r.ID)}, nil
}

func (a *AutoScaling) describeRefreshes(ctx context.Context, in *autoscaling.DescribeInstanceRefreshesInput) (*autoscaling.DescribeInstanceRefreshesOutput, error) {
	g, _, err := a.group(ctx, in.AutoScalingGroupName)
	if err != nil {
		return nil, err
	}
	out := &autoscaling.DescribeInstanceRefreshesOutput{InstanceRefreshes: []autoscaling.InstanceRefresh{}}
	r := g.Refresh
	if r == nil || len(in.InstanceRefreshIds) > 0 && !slices.Contains(in.InstanceRefreshIds, r.ID) {
		return out, nil
	}
	d := autoscaling.InstanceRefresh{InstanceRefreshId: new(r.ID), AutoScalingGroupName: new(g.Name), Status: new(r.Status),
		StartTime: new(r.Start), PercentageComplete: new(int32(r.Percentage)), InstancesToUpdate: new(int32(max(0, r.ToUpdate*(100-r.Percentage)/100))),
		Strategy: new("Rolling"),
		Preferences: &autoscaling.RefreshPreferences{MinHealthyPercentage: new(int32(r.MinHealthy)), MaxHealthyPercentage: new(int32(r.MaxHealthy)),
			SkipMatching: new(r.SkipMatching), InstanceWarmup: new(int32(r.Warmup / time.Second)), AutoRollback: new(r.AutoRollback)},
		StatusReason: statusReason(r),
		DesiredConfiguration: &autoscaling.DesiredConfiguration{LaunchTemplate: &autoscaling.LaunchTemplateSpecification{
			LaunchTemplateName: new(g.LaunchTemplate), Version: new(strconv.Itoa(r.To))}},
	}
	if len(r.Checkpoints) > 0 {
		for _, c := range r.Checkpoints {
			d.Preferences.CheckpointPercentages = append(d.Preferences.CheckpointPercentages, int32(c))
		}
		d.Preferences.CheckpointDelay = new(int32(r.CheckpointDelay / time.Second))
	}
	d.ProgressDetails = &autoscaling.InstanceRefreshProgressDetails{LivePoolProgress: &autoscaling.InstanceRefreshLivePoolProgress{
		PercentageComplete: d.PercentageComplete, InstancesToUpdate: d.InstancesToUpdate}}
	if !r.End.IsZero() {
		d.EndTime = new(r.End)
	}
	out.InstanceRefreshes = append(out.InstanceRefreshes, d)
	return out, nil
}

// cancelRefresh stops the refresh in progress: the instances it replaced
// stay, and so does the launch template version it moved the group to.
func (a *AutoScaling) cancelRefresh(ctx context.Context, in *autoscaling.CancelInstanceRefreshInput) (*autoscaling.CancelInstanceRefreshOutput, error) {
	g, _, err := a.group(ctx, in.AutoScalingGroupName)
	if err != nil {
		return nil, err
	}
	if !g.Refresh.Active() {
		return nil, a.fault("ActiveInstanceRefreshNotFound", "No in progress or pending Instance Refresh found for Auto Scaling group %s", g.Name)
	}
	r := *g.Refresh
	r.Status, r.End = store.RefreshCancelled, time.Now().UTC()
	g.Refresh = &r
	if err := a.Runtime.UpdateGroup(ctx, g); err != nil {
		return nil, err
	}
	return &autoscaling.CancelInstanceRefreshOutput{InstanceRefreshId: new(r.ID)}, nil
}

// rollbackRefresh replaces the instances the refresh in progress made
// with ones of the launch template version it replaced.
func (a *AutoScaling) rollbackRefresh(ctx context.Context, in *autoscaling.RollbackInstanceRefreshInput) (*autoscaling.RollbackInstanceRefreshOutput, error) {
	g, _, err := a.group(ctx, in.AutoScalingGroupName)
	if err != nil {
		return nil, err
	}
	r := g.Refresh
	if r == nil || r.Status != store.RefreshInProgress {
		return nil, a.fault("ActiveInstanceRefreshNotFound", "No in progress Instance Refresh found for Auto Scaling group %s", g.Name)
	}
	if !r.Reversible(g.LaunchTemplateAlias) {
		return nil, a.fault("IrreversibleInstanceRefresh", irreversible)
	}
	g.RollBack(time.Now(), "Rollback requested by RollbackInstanceRefresh")
	if err := a.Runtime.UpdateGroup(ctx, g); err != nil {
		return nil, err
	}
	return &autoscaling.RollbackInstanceRefreshOutput{InstanceRefreshId: new(r.ID)}, nil
}

// irreversible is why a refresh cannot be rolled back.
const irreversible = "A rollback needs the instance refresh to be started with a DesiredConfiguration, and the group on numbered launch template versions before and after (not $Latest or $Default)"

// refreshStart is a refresh's start, to the second: instances record
// when they were created to the second, and one launched by the refresh
// in its first second is its own.
func refreshStart() time.Time { return time.Now().UTC().Truncate(time.Second) }

// AWS's bounds on checkpoints.
const (
	defaultCheckpointDelay = time.Hour
	maxCheckpointDelay     = 172800 * time.Second
)

// setCheckpoints validates CheckpointPercentages and CheckpointDelay as
// Auto Scaling does and sets them on r.
func setCheckpoints(r *store.InstanceRefresh, pcts []int32, delay *int32) error {
	if len(pcts) == 0 {
		if delay != nil {
			return awsapi.Validation("CheckpointDelay needs CheckpointPercentages")
		}
		return nil
	}
	prev := int32(0)
	for _, p := range pcts {
		if p <= prev || p > 100 {
			return awsapi.Validation("CheckpointPercentages must rise from 1 to 100; %v does not", pcts)
		}
		prev = p
		r.Checkpoints = append(r.Checkpoints, int(p))
	}
	if prev != 100 {
		return awsapi.Validation("The last of the CheckpointPercentages must be 100; %v ends at %d", pcts, prev)
	}
	r.CheckpointDelay = defaultCheckpointDelay
	if delay != nil {
		d := time.Duration(*delay) * time.Second
		if d < 0 || d > maxCheckpointDelay {
			return awsapi.Validation("CheckpointDelay %d must be from 0 to 172800 seconds", *delay)
		}
		r.CheckpointDelay = d
	}
	return nil
}

// statusReason says why a refresh failed, rolls back or waits at a
// checkpoint, or nil.
func statusReason(r *store.InstanceRefresh) *string {
	if r.Waiting(time.Now()) {
		return new(fmt.Sprintf("Waiting for the checkpoint delay: %d %% of the instances are replaced; the refresh goes on at %s",
			r.Checkpoints[r.Reached-1], r.PausedUntil.UTC().Format(time.RFC3339)))
	}
	if r.Reason != "" {
		return new(r.Reason)
	}
	return nil
}
