package ec2api

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire"
	"github.com/vmfleet/vmfleet/pkg/awswire/ec2"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// EC2's tags: a launch template keeps its own; an instance has its own
// (kept in its domain's metadata) and, in a group, its group's
// (aws:autoscaling:groupName and the tags that propagate at launch,
// which Auto Scaling's tag operations change).

// checkTagKey refuses a key EC2 would.
func checkTagKey(k string) error {
	if k == "" || strings.HasPrefix(k, "aws:") {
		return awsapi.Errorf("InvalidParameterValue", "Tag key '%s' is not valid: keys are not empty and do not begin with aws:", k)
	}
	return nil
}

func (e *EC2) createTags(ctx context.Context, in *ec2.CreateTagsInput) (*ec2.CreateTagsOutput, error) {
	set := map[string]string{}
	for _, t := range in.Tags {
		if err := checkTagKey(awswire.Value(t.Key)); err != nil {
			return nil, err
		}
		set[awswire.Value(t.Key)] = awswire.Value(t.Value)
	}
	return &ec2.CreateTagsOutput{}, e.retag(ctx, in.Resources, set, nil)
}

func (e *EC2) deleteTags(ctx context.Context, in *ec2.DeleteTagsInput) (*ec2.DeleteTagsOutput, error) {
	remove := map[string]*string{}
	for _, t := range in.Tags {
		remove[awswire.Value(t.Key)] = t.Value
	}
	return &ec2.DeleteTagsOutput{}, e.retag(ctx, in.Resources, nil, remove)
}

// retag sets and removes tags of instances and launch templates: a
// removal with a value removes the tag only with that value.
func (e *EC2) retag(ctx context.Context, resources []string, set map[string]string, remove map[string]*string) error {
	var instances, templates []string
	for _, id := range resources {
		if strings.HasPrefix(id, "i-") {
			instances = append(instances, id)
		} else {
			templates = append(templates, id)
		}
	}
	if len(instances) > 0 {
		if _, _, err := e.pick(ctx, instances, nil); err != nil {
			return err
		}
	}
	for _, id := range instances {
		if err := e.Runtime.TagInstance(ctx, id, set, remove); err != nil {
			return err
		}
	}
	change := func(m map[string]string) {
		maps.Copy(m, set)
		for k, v := range remove {
			if v == nil || m[k] == *v {
				delete(m, k)
			}
		}
	}
	return e.update(ctx, func(tx *store.Tx) error {
		for _, id := range templates {
			lt, err := e.template(tx, &id, nil)
			if err != nil {
				return err
			}
			m := maps.Clone(lt.Tags)
			if m == nil {
				m = map[string]string{}
			}
			change(m)
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
			for _, k := range slices.Sorted(maps.Keys(lt.Tags)) {
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
		for _, k := range slices.Sorted(maps.Keys(tags)) {
			all = append(all, tag{r.ID, "instance", k, tags[k]})
		}
	}
	out := &ec2.DescribeTagsOutput{Tags: []ec2.TagDescription{}}
	for _, t := range all {
		if match(in.Filters, of(&t), nil) {
			out.Tags = append(out.Tags, ec2.TagDescription{ResourceId: new(t.id), ResourceType: new(t.kind), Key: new(t.key), Value: new(t.value)})
		}
	}
	return out, nil
}
