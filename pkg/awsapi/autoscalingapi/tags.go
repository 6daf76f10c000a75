package autoscalingapi

import (
	"context"
	"maps"
	"slices"
	"strconv"

	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire"
	"github.com/vmfleet/vmfleet/pkg/awswire/autoscaling"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// Tags are a group's: kept in its record, put on its instances when
// PropagateAtLaunch says so (EC2 describes them there).

func (a *AutoScaling) createOrUpdateTags(ctx context.Context, in *autoscaling.CreateOrUpdateTagsInput) (*autoscaling.CreateOrUpdateTagsOutput, error) {
	return &autoscaling.CreateOrUpdateTagsOutput{}, a.retag(ctx, in.Tags, func(g *store.Group, t autoscaling.Tag) {
		if g.Tags == nil {
			g.Tags = map[string]string{}
		}
		g.Tags[t.Key] = awswire.Value(t.Value)
		g.PropagateAtLaunch = slices.DeleteFunc(g.PropagateAtLaunch, func(k string) bool { return k == t.Key })
		if t.PropagateAtLaunch != nil && *t.PropagateAtLaunch {
			g.PropagateAtLaunch = append(g.PropagateAtLaunch, t.Key)
		}
	})
}

func (a *AutoScaling) deleteTags(ctx context.Context, in *autoscaling.DeleteTagsInput) (*autoscaling.DeleteTagsOutput, error) {
	return &autoscaling.DeleteTagsOutput{}, a.retag(ctx, in.Tags, func(g *store.Group, t autoscaling.Tag) {
		if t.Value == nil || g.Tags[t.Key] == *t.Value {
			delete(g.Tags, t.Key)
			g.PropagateAtLaunch = slices.DeleteFunc(g.PropagateAtLaunch, func(k string) bool { return k == t.Key })
		}
	})
}

// retag applies change to each tag's group, then hands the groups
// changed to their controllers, all tags checked first.
func (a *AutoScaling) retag(ctx context.Context, tags []autoscaling.Tag, change func(*store.Group, autoscaling.Tag)) error {
	changed := map[string]*store.Group{}
	for _, t := range tags {
		if t.ResourceType != nil && *t.ResourceType != "auto-scaling-group" {
			return awsapi.Validation("ResourceType must be auto-scaling-group")
		}
		if t.ResourceId == nil {
			return awsapi.Validation("A tag needs a ResourceId: the group's name")
		}
		if t.Key == "" || len(t.Key) > 128 {
			return awsapi.Validation("Tag keys must be 1 to 128 characters")
		}
		g := changed[*t.ResourceId]
		if g == nil {
			got, f, err := a.group(ctx, *t.ResourceId)
			if err != nil {
				return err
			}
			if !f.FromAPI() {
				return awsapi.Validation("The group %s belongs to the fleet %s (%s); vmfleet keeps no tags of a fleet file's groups", got.Name, f.Name, f.File)
			}
			g = &got
			changed[g.Name] = g
		}
		change(g, t)
	}
	for _, name := range slices.Sorted(maps.Keys(changed)) {
		if err := a.Runtime.UpdateGroup(ctx, *changed[name]); err != nil {
			return err
		}
	}
	return nil
}

// describeTags lists the groups' tags, as filtered.
func (a *AutoScaling) describeTags(ctx context.Context, in *autoscaling.DescribeTagsInput) (*autoscaling.DescribeTagsOutput, error) {
	want := map[string][]string{}
	for _, f := range in.Filters {
		name := awswire.Value(f.Name)
		if !slices.Contains([]string{"auto-scaling-group", "key", "value", "propagate-at-launch"}, name) {
			return nil, awsapi.Validation("Filter name '%s' is not one of auto-scaling-group, key, value, propagate-at-launch", name)
		}
		want[name] = append(want[name], f.Values...)
	}
	pass := func(name, v string) bool { return len(want[name]) == 0 || slices.Contains(want[name], v) }
	d, err := a.read(ctx)
	if err != nil {
		return nil, err
	}
	out := &autoscaling.DescribeTagsOutput{Tags: []autoscaling.TagDescription{}}
	for _, g := range d.groups {
		for _, k := range slices.Sorted(maps.Keys(g.Tags)) {
			prop := slices.Contains(g.PropagateAtLaunch, k)
			if pass("auto-scaling-group", g.Name) && pass("key", k) && pass("value", g.Tags[k]) && pass("propagate-at-launch", strconv.FormatBool(prop)) {
				out.Tags = append(out.Tags, autoscaling.TagDescription{ResourceId: new(g.Name), ResourceType: new("auto-scaling-group"),
					Key: new(k), Value: new(g.Tags[k]), PropagateAtLaunch: new(prop)})
			}
		}
	}
	return out, nil
}
