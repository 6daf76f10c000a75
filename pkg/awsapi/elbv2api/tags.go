package elbv2api

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire"
	"github.com/vmfleet/vmfleet/pkg/awswire/elbv2"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// Tags are kept on target groups and load balancers made through the
// API; a fleet file's are the file's, and a listener has none.

// tagged is one resource an ARN names, with its tags to read and write.
type tagged struct {
	tags  map[string]string
	put   func(map[string]string) error
	fleet bool // a fleet file's: read only
}

func (e *ELBv2) tagged(tx *store.Tx, arn string) (tagged, error) {
	if name := e.nameIn(arn, "targetgroup/"); name != "" && e.TargetGroupARN(name) == arn {
		tg, err := tx.GetTargetGroup(name)
		if errors.Is(err, store.ErrNotFound) {
			return tagged{}, e.fault("TargetGroupNotFound", "One or more target groups not found")
		} else if err != nil {
			return tagged{}, err
		}
		return tagged{tags: tg.Tags, fleet: tg.Port == 0, put: func(m map[string]string) error {
			tg.Tags = m
			return tx.PutTargetGroup(&tg)
		}}, nil
	}
	if name := e.nameIn(arn, "loadbalancer/app/"); name != "" && e.loadBalancerARN(name) == arn {
		lb, err := tx.GetLoadBalancer(name)
		if errors.Is(err, store.ErrNotFound) {
			return tagged{}, e.fault("LoadBalancerNotFound", "One or more load balancers not found")
		} else if err != nil {
			return tagged{}, err
		}
		return tagged{tags: lb.Tags, fleet: lb.Address == "", put: func(m map[string]string) error {
			lb.Tags = m
			return tx.PutLoadBalancer(&lb)
		}}, nil
	}
	if _, err := e.listenerLB(arn); err == nil {
		return tagged{fleet: true}, nil
	}
	return tagged{}, awsapi.Validation("'%s' is not a valid target group, load balancer or listener ARN", arn)
}

func (e *ELBv2) addTags(ctx context.Context, in *elbv2.AddTagsInput) (*elbv2.AddTagsOutput, error) {
	return &elbv2.AddTagsOutput{}, e.retag(ctx, in.ResourceArns, func(m map[string]string) {
		for _, t := range in.Tags {
			m[t.Key] = awswire.Value(t.Value)
		}
	})
}

func (e *ELBv2) removeTags(ctx context.Context, in *elbv2.RemoveTagsInput) (*elbv2.RemoveTagsOutput, error) {
	return &elbv2.RemoveTagsOutput{}, e.retag(ctx, in.ResourceArns, func(m map[string]string) {
		for _, k := range in.TagKeys {
			delete(m, k)
		}
	})
}

func (e *ELBv2) retag(ctx context.Context, arns []string, change func(map[string]string)) error {
	return e.Store.Update(ctx, func(tx *store.Tx) error {
		for _, arn := range arns {
			t, err := e.tagged(tx, arn)
			if err != nil {
				return err
			}
			if t.fleet {
				return e.fault("OperationNotPermitted", "vmfleet keeps tags of the target groups and load balancers made through the API only; "+arn+" is not one")
			}
			m := maps.Clone(t.tags)
			if m == nil {
				m = map[string]string{}
			}
			change(m)
			if len(m) > 50 {
				return e.fault("TooManyTags", "A resource has at most 50 tags")
			}
			if err := t.put(m); err != nil {
				return err
			}
		}
		return nil
	})
}

func (e *ELBv2) describeTags(ctx context.Context, in *elbv2.DescribeTagsInput) (*elbv2.DescribeTagsOutput, error) {
	out := &elbv2.DescribeTagsOutput{TagDescriptions: []elbv2.TagDescription{}}
	err := e.Store.View(ctx, func(tx *store.Tx) error {
		for _, arn := range in.ResourceArns {
			t, err := e.tagged(tx, arn)
			if err != nil {
				return err
			}
			d := elbv2.TagDescription{ResourceArn: new(arn), Tags: []elbv2.Tag{}}
			for _, k := range slices.Sorted(maps.Keys(t.tags)) {
				d.Tags = append(d.Tags, elbv2.Tag{Key: k, Value: new(t.tags[k])})
			}
			out.TagDescriptions = append(out.TagDescriptions, d)
		}
		return nil
	})
	return out, err
}
