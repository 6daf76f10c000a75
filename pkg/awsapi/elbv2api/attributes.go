package elbv2api

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire"
	"github.com/vmfleet/vmfleet/pkg/awswire/elbv2"
	"github.com/vmfleet/vmfleet/pkg/limits"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// deregistrationDelayKey is the one target group attribute vmfleet's
// balancer acts on; the others are answered with the values it runs by.
const deregistrationDelayKey = "deregistration_delay.timeout_seconds"

// fixedTargetGroupAttributes are what vmfleet's balancer does and cannot
// be told otherwise: round robin, no stickiness, no slow start.
var fixedTargetGroupAttributes = map[string]string{
	"stickiness.enabled": "false", "stickiness.type": "lb_cookie", "load_balancing.algorithm.type": "round_robin",
	"slow_start.duration_seconds": "0", "load_balancing.cross_zone.enabled": "use_load_balancer_configuration",
}

// fixedLoadBalancerAttributes likewise for a load balancer.
var fixedLoadBalancerAttributes = map[string]string{
	"deletion_protection.enabled": "false", "idle_timeout.timeout_seconds": "60", "routing.http2.enabled": "false",
	"access_logs.s3.enabled": "false", "routing.http.drop_invalid_header_fields.enabled": "false",
}

func targetGroupAttributes(tg store.TargetGroup) []elbv2.TargetGroupAttribute {
	attrs := maps.Clone(fixedTargetGroupAttributes)
	attrs[deregistrationDelayKey] = strconv.Itoa(int(tg.DeregistrationDelay / time.Second))
	var out []elbv2.TargetGroupAttribute
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		out = append(out, elbv2.TargetGroupAttribute{Key: new(k), Value: new(attrs[k])})
	}
	return out
}

func (e *ELBv2) describeTargetGroupAttributes(ctx context.Context, in *elbv2.DescribeTargetGroupAttributesInput) (*elbv2.DescribeTargetGroupAttributesOutput, error) {
	tg, err := e.targetGroup(ctx, in.TargetGroupArn)
	if err != nil {
		return nil, err
	}
	return &elbv2.DescribeTargetGroupAttributesOutput{Attributes: targetGroupAttributes(tg)}, nil
}

func (e *ELBv2) modifyTargetGroupAttributes(ctx context.Context, in *elbv2.ModifyTargetGroupAttributesInput) (*elbv2.ModifyTargetGroupAttributesOutput, error) {
	name, err := e.TargetGroupName(in.TargetGroupArn)
	if err != nil {
		return nil, err
	}
	var tg store.TargetGroup
	err = e.Store.Update(ctx, func(tx *store.Tx) error {
		if tg, err = tx.GetTargetGroup(name); errors.Is(err, store.ErrNotFound) {
			return e.fault("TargetGroupNotFound", "One or more target groups not found")
		} else if err != nil {
			return err
		}
		for _, a := range in.Attributes {
			k, v := awswire.Value(a.Key), awswire.Value(a.Value)
			if k == deregistrationDelayKey {
				n, err := strconv.Atoi(v)
				d := time.Duration(n) * time.Second
				if err != nil || limits.CheckDeregistrationDelay(d) != nil {
					return awsapi.Validation("The value of '%s' must be an integer from 0 to %d", k, int(limits.MaxDeregistrationDelay/time.Second))
				}
				tg.DeregistrationDelay = d
				continue
			}
			if fixed, ok := fixedTargetGroupAttributes[k]; !ok || fixed != v {
				return awsapi.Validation("vmfleet's target groups support changing only %s; '%s' stays %q", deregistrationDelayKey, k, fixedTargetGroupAttributes[k])
			}
		}
		return tx.PutTargetGroup(&tg)
	})
	if err != nil {
		return nil, err
	}
	if err := e.Runtime.RebindGroups(ctx, name); err != nil {
		return nil, err
	}
	return &elbv2.ModifyTargetGroupAttributesOutput{Attributes: targetGroupAttributes(tg)}, nil
}

func loadBalancerAttributes() []elbv2.LoadBalancerAttribute {
	var out []elbv2.LoadBalancerAttribute
	for _, k := range slices.Sorted(maps.Keys(fixedLoadBalancerAttributes)) {
		out = append(out, elbv2.LoadBalancerAttribute{Key: new(k), Value: new(fixedLoadBalancerAttributes[k])})
	}
	return out
}

func (e *ELBv2) describeLoadBalancerAttributes(ctx context.Context, in *elbv2.DescribeLoadBalancerAttributesInput) (*elbv2.DescribeLoadBalancerAttributesOutput, error) {
	if _, err := e.loadBalancer(ctx, in.LoadBalancerArn); err != nil {
		return nil, err
	}
	return &elbv2.DescribeLoadBalancerAttributesOutput{Attributes: loadBalancerAttributes()}, nil
}

func (e *ELBv2) modifyLoadBalancerAttributes(ctx context.Context, in *elbv2.ModifyLoadBalancerAttributesInput) (*elbv2.ModifyLoadBalancerAttributesOutput, error) {
	if _, err := e.loadBalancer(ctx, in.LoadBalancerArn); err != nil {
		return nil, err
	}
	for _, a := range in.Attributes {
		k, v := awswire.Value(a.Key), awswire.Value(a.Value)
		if fixed, ok := fixedLoadBalancerAttributes[k]; !ok || fixed != v {
			return nil, awsapi.Validation("vmfleet's load balancers cannot change '%s'; it stays %q", k, fixed)
		}
	}
	return &elbv2.ModifyLoadBalancerAttributesOutput{Attributes: loadBalancerAttributes()}, nil
}

// targetGroup is the stored target group an ARN names.
func (e *ELBv2) targetGroup(ctx context.Context, arn string) (store.TargetGroup, error) {
	name, err := e.TargetGroupName(arn)
	if err != nil {
		return store.TargetGroup{}, err
	}
	var tg store.TargetGroup
	err = e.Store.View(ctx, func(tx *store.Tx) (err error) { tg, err = tx.GetTargetGroup(name); return err })
	if errors.Is(err, store.ErrNotFound) {
		return tg, e.fault("TargetGroupNotFound", "One or more target groups not found")
	}
	return tg, err
}

// loadBalancer is the stored load balancer an ARN names.
func (e *ELBv2) loadBalancer(ctx context.Context, arn string) (store.LoadBalancer, error) {
	name, err := e.loadBalancerName(arn)
	if err != nil {
		return store.LoadBalancer{}, err
	}
	var lb store.LoadBalancer
	err = e.Store.View(ctx, func(tx *store.Tx) (err error) { lb, err = tx.GetLoadBalancer(name); return err })
	if errors.Is(err, store.ErrNotFound) {
		return lb, e.fault("LoadBalancerNotFound", "One or more load balancers not found")
	}
	return lb, err
}
