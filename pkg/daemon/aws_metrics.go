package daemon

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awsapi/cloudwatchapi"
	"github.com/vmfleet/vmfleet/pkg/awswire/elbv2"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// metricsRuntime is what CloudWatch's source reads of the daemon.
type metricsRuntime interface {
	Instances(ctx context.Context) ([]api.InstanceRow, error)
	Activities() []api.Event
	MetricWindow(entity, metric string, from, to time.Time) []api.Point
	MetricEntities() []string
}

// MetricWindow is one kept metric of an entity, a point a second in
// [from, to): what CloudWatch reads.
func (d *Daemon) MetricWindow(entity, metric string, from, to time.Time) []api.Point {
	return d.metrics.Window(entity, metric, from, to)
}

// MetricEntities are the instances and fleet/service groups with history.
func (d *Daemon) MetricEntities() []string { return d.metrics.Entities() }

// cloudWatchSource is CloudWatch's view of the daemon: the groups in the
// store; the dimensions of their target groups and load balancers read
// off the ARNs ELBv2 describes them with, so the two services name them
// alike; their instances, those running and those the activity history
// saw launched, that have history; and the history itself.
type cloudWatchSource struct {
	db                   *store.Store
	rt                   metricsRuntime
	describeTargetGroups awsapi.Handler
}

func (s *cloudWatchSource) Points(entity, metric string, from, to time.Time) []api.Point {
	return s.rt.MetricWindow(entity, metric, from, to)
}

func (s *cloudWatchSource) Groups(ctx context.Context) ([]cloudwatchapi.Group, error) {
	var groups []store.Group
	if err := s.db.View(ctx, func(tx *store.Tx) error {
		var err error
		groups, err = tx.ListGroups()
		return err
	}); err != nil {
		return nil, fmt.Errorf("listing the groups: %w", err)
	}
	balancers, err := s.balancers(ctx)
	if err != nil {
		return nil, err
	}
	members, err := s.members(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]cloudwatchapi.Group, 0, len(groups))
	for _, g := range groups {
		entity := g.Fleet + "/" + g.Service
		b := balancers[g.TargetGroup]
		out = append(out, cloudwatchapi.Group{Name: g.Name, Entity: entity, Instances: members[entity],
			TargetGroup: b.targetGroup, LoadBalancer: b.loadBalancer})
	}
	return out, nil
}

// dimensions are a target group's ELB dimension values: its ARN's
// resource (targetgroup/name/id) and its load balancer's (app/name/id).
type dimensions struct{ targetGroup, loadBalancer string }

// balancers are the dimensions of every target group, by name.
func (s *cloudWatchSource) balancers(ctx context.Context) (map[string]dimensions, error) {
	res, err := s.describeTargetGroups.Call(ctx, &elbv2.DescribeTargetGroupsInput{})
	if err != nil {
		return nil, fmt.Errorf("describing the target groups: %w", err)
	}
	out := map[string]dimensions{}
	for _, tg := range res.(*elbv2.DescribeTargetGroupsOutput).TargetGroups {
		arn := aws.ToString(tg.TargetGroupArn)
		d := dimensions{targetGroup: arn[strings.LastIndexByte(arn, ':')+1:]}
		if len(tg.LoadBalancerArns) > 0 {
			_, d.loadBalancer, _ = strings.Cut(tg.LoadBalancerArns[0], ":loadbalancer/")
		}
		out[aws.ToString(tg.TargetGroupName)] = d
	}
	return out, nil
}

// members are the instances with history of each fleet/service.
func (s *cloudWatchSource) members(ctx context.Context) (map[string][]string, error) {
	rows, err := s.rt.Instances(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the instances: %w", err)
	}
	kept := map[string]bool{}
	for _, e := range s.rt.MetricEntities() {
		kept[e] = true
	}
	out := map[string][]string{}
	add := func(fleet, service, id string) {
		entity := fleet + "/" + service
		if kept[id] && !slices.Contains(out[entity], id) {
			out[entity] = append(out[entity], id)
		}
	}
	for _, r := range rows {
		add(r.Fleet, r.Service, r.ID)
	}
	// Instances gone since keep their history for an hour: the launches
	// the activity history still holds say whose they were.
	for _, ev := range s.rt.Activities() {
		if ev.Kind == "launched" && ev.Instance != "" {
			add(ev.Fleet, ev.Service, ev.Instance)
		}
	}
	for _, ids := range out {
		slices.Sort(ids)
	}
	return out, nil
}
