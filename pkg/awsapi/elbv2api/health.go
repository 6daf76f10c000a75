package elbv2api

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awswire/elbv2"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// describeTargetHealth reports the instances of the groups attached to a
// target group, or those registered with it, in ELB's states and reason
// codes.
func (e *ELBv2) describeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput) (*elbv2.DescribeTargetHealthOutput, error) {
	name, err := e.TargetGroupName(in.TargetGroupArn)
	if err != nil {
		return nil, err
	}
	var groups []store.Group
	var port int
	var targets []string
	inUse := false
	err = e.Store.View(ctx, func(tx *store.Tx) error {
		tg, err := tx.GetTargetGroup(name)
		if errors.Is(err, store.ErrNotFound) {
			return e.fault("TargetGroupNotFound", "One or more target groups not found")
		} else if err != nil {
			return err
		}
		targets = tg.Targets
		if port, err = portOf(tx, tg); err != nil {
			return err
		}
		all, err := tx.ListGroups()
		for _, g := range all {
			if g.TargetGroup == name {
				groups = append(groups, g)
			}
		}
		if err != nil {
			return err
		}
		lbs, err := tx.ListLoadBalancers()
		inUse = slices.ContainsFunc(lbs, func(lb store.LoadBalancer) bool { return lb.Listener.TargetGroup == name && lb.Listener.Listen != "" })
		return err
	})
	if err != nil {
		return nil, err
	}
	rows, err := e.Runtime.Instances(ctx)
	if err != nil {
		return nil, err
	}
	out := &elbv2.DescribeTargetHealthOutput{TargetHealthDescriptions: []elbv2.TargetHealthDescription{}}
	registered := map[string]api.InstanceRow{}
	checked := e.Runtime.TargetHealth(name)
	for _, r := range rows {
		if slices.Contains(targets, r.ID) {
			r.Health = checked[r.ID]
			registered[r.ID] = r
			continue
		}
		if slices.ContainsFunc(groups, func(g store.Group) bool { return g.Fleet == r.Fleet && g.Service == r.Service }) && api.InTargetGroup(r.Phase) {
			registered[r.ID] = r
		}
	}
	ids := make([]string, 0, len(registered))
	for _, t := range in.Targets {
		ids = append(ids, t.Id)
	}
	if len(in.Targets) == 0 {
		for _, r := range rows {
			if _, ok := registered[r.ID]; ok {
				ids = append(ids, r.ID)
			}
		}
	}
	for _, id := range ids {
		r, ok := registered[id]
		h := targetHealth(r, ok, inUse)
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, elbv2.TargetHealthDescription{
			Target: &elbv2.TargetDescription{Id: id, Port: new(int32(port)), AvailabilityZone: new(e.Region + "a")}, HealthCheckPort: new(strconv.Itoa(port)), TargetHealth: &h,
		})
	}
	return out, nil
}

// targetHealth is an instance's state as ELB reports it.
func targetHealth(r api.InstanceRow, registered, inUse bool) elbv2.TargetHealth {
	state := func(s, reason, desc string) elbv2.TargetHealth {
		h := elbv2.TargetHealth{State: new(s)}
		if reason != "" {
			h.Reason, h.Description = new(reason), new(desc)
		}
		return h
	}
	switch {
	case !registered:
		return state("unused", "Target.NotRegistered", "Target is not registered to the target group")
	case r.Phase == api.Terminating || r.Health == "draining":
		return state("draining", "Target.DeregistrationInProgress", "Target deregistration is in progress")
	case !inUse:
		return state("unused", "Target.NotInUse", "Target group is not configured to receive traffic from the load balancer")
	case r.Health == "healthy":
		return state("healthy", "", "")
	case r.Health == "unhealthy":
		return state("unhealthy", "Target.FailedHealthChecks", "Health checks failed")
	}
	return state("initial", "Elb.InitialHealthChecking", "Initial health checks in progress")
}
