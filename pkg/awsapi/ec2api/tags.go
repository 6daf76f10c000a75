package ec2api

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire/ec2"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// EC2's tags: a launch template keeps its own; an instance's are its
// group's (aws:autoscaling:groupName and the tags that propagate at
// launch), which Auto Scaling's tag operations change.

func (e *EC2) createTags(ctx context.Context, in *ec2.CreateTagsInput) (*ec2.CreateTagsOutput, error) {
	return &ec2.CreateTagsOutput{}, e.retag(ctx, in.Resources, func(m map[string]string) error {
		for _, t := range in.Tags {
			k := deref(t.Key)
			if k == "" || strings.HasPrefix(k, "aws:") {
				return awsapi.Errorf("InvalidParameterValue", "Tag key '%s' is not valid: keys are not empty and do not begin with aws:", k)
			}
			m[k] = deref(t.Value)
		}
		return nil
	})
}

func (e *EC2) deleteTags(ctx context.Context, in *ec2.DeleteTagsInput) (*ec2.DeleteTagsOutput, error) {
	return &ec2.DeleteTagsOutput{}, e.retag(ctx, in.Resources, func(m map[string]string) error {
		for _, t := range in.Tags {
			if t.Value == nil || m[deref(t.Key)] == *t.Value {
				delete(m, deref(t.Key))
			}
		}
		return nil
	})
}

func (e *EC2) retag(ctx context.Context, resources []string, change func(map[string]string) error) error {
	return e.update(ctx, func(tx *store.Tx) error {
		for _, id := range resources {
			if strings.HasPrefix(id, "i-") {
				return awsapi.Errorf("InvalidParameterValue", "vmfleet tags instances through their group: tag the Auto Scaling group with PropagateAtLaunch (aws autoscaling create-or-update-tags)")
			}
			lt, err := e.template(tx, &id, nil)
			if err != nil {
				return err
			}
			m := maps.Clone(lt.Tags)
			if m == nil {
				m = map[string]string{}
			}
			if err := change(m); err != nil {
				return err
			}
			lt.Tags = m
			if err := tx.PutLaunchTemplate(&lt); err != nil {
				return err
			}
		}
		return nil
	})
}

// describeTags lists the tags of launch templates and instances.
func (e *EC2) describeTags(ctx context.Context, in *ec2.DescribeTagsInput) (*ec2.DescribeTagsOutput, error) {
	type tag struct{ id, kind, key, value string }
	of := func(t *tag) fields {
		return func(name string) ([]string, bool) {
			if t == nil {
				return nil, slices.Contains([]string{"resource-id", "resource-type", "key", "value"}, name)
			}
			v, ok := map[string]string{"resource-id": t.id, "resource-type": t.kind, "key": t.key, "value": t.value}[name]
			return []string{v}, ok
		}
	}
	if err := check(in.Filters, of(nil)); err != nil {
		return nil, err
	}
	var all []tag
	err := e.view(ctx, func(tx *store.Tx) error {
		lts, err := tx.ListLaunchTemplates()
		for _, lt := range lts {
			for _, k := range sortedKeys(lt.Tags) {
				all = append(all, tag{lt.ID, "launch-template", k, lt.Tags[k]})
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	v, err := e.read(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range v.rows {
		tags := v.tags(r)
		for _, k := range sortedKeys(tags) {
			all = append(all, tag{r.ID, "instance", k, tags[k]})
		}
	}
	out := &ec2.DescribeTagsOutput{Tags: []ec2.TagDescription{}}
	for _, t := range all {
		if match(in.Filters, of(&t), nil) {
			out.Tags = append(out.Tags, ec2.TagDescription{ResourceId: ptr(t.id), ResourceType: ptr(t.kind), Key: ptr(t.key), Value: ptr(t.value)})
		}
	}
	return out, nil
}
