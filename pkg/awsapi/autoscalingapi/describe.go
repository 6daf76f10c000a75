package autoscalingapi

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awsapi/ec2api"
	"github.com/vmfleet/vmfleet/pkg/awswire"
	"github.com/vmfleet/vmfleet/pkg/awswire/autoscaling"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// described is what a Describe reads of the store at once.
type described struct {
	groups    []store.Group
	fleets    map[string]store.Fleet
	templates map[string]store.LaunchTemplate
	types     map[string]string // launch template version ref -> instance type
}

func (a *AutoScaling) read(ctx context.Context) (described, error) {
	d := described{fleets: map[string]store.Fleet{}, templates: map[string]store.LaunchTemplate{}, types: map[string]string{}}
	err := a.Store.View(ctx, func(tx *store.Tx) error {
		var err error
		if d.groups, err = tx.ListGroups(); err != nil {
			return err
		}
		fleets, err := tx.ListFleets()
		for _, f := range fleets {
			d.fleets[f.Name] = f
		}
		if err != nil {
			return err
		}
		lts, err := tx.ListLaunchTemplates()
		for _, lt := range lts {
			d.templates[lt.Name] = lt
			vs, verr := tx.ListLaunchTemplateVersions(lt.Name)
			for _, v := range vs {
				d.types[v.Ref()] = v.InstanceType
			}
			if verr != nil {
				return verr
			}
		}
		return err
	})
	return d, err
}

// snapshot is the stored groups and the instances, as one Describe
// reads them.
func (a *AutoScaling) snapshot(ctx context.Context) (described, []api.InstanceRow, error) {
	d, err := a.read(ctx)
	if err != nil {
		return d, nil, err
	}
	rows, err := a.Runtime.Instances(ctx)
	return d, rows, err
}

func (a *AutoScaling) describeGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	if len(in.Filters) > 0 {
		return nil, awsapi.Validation("vmfleet does not filter groups yet; name them in AutoScalingGroupNames")
	}
	d, rows, err := a.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	out := &autoscaling.DescribeAutoScalingGroupsOutput{AutoScalingGroups: []autoscaling.AutoScalingGroup{}}
	for _, g := range d.groups {
		if len(in.AutoScalingGroupNames) > 0 && !slices.Contains(in.AutoScalingGroupNames, g.Name) {
			continue
		}
		out.AutoScalingGroups = append(out.AutoScalingGroups, a.describeGroup(g, d, rows))
	}
	return out, nil
}

func (a *AutoScaling) describeGroup(g store.Group, d described, rows []api.InstanceRow) autoscaling.AutoScalingGroup {
	lt := d.templates[g.LaunchTemplate]
	out := autoscaling.AutoScalingGroup{
		AutoScalingGroupName: g.Name, AutoScalingGroupARN: new(a.groupARN(g.Name)),
		LaunchTemplate: &autoscaling.LaunchTemplateSpecification{LaunchTemplateId: new(lt.ID), LaunchTemplateName: new(g.LaunchTemplate),
			Version: new(cmp.Or(g.LaunchTemplateAlias, strconv.Itoa(g.LaunchTemplateVersion)))},
		MinSize: int32(g.Min), MaxSize: int32(g.Max), DesiredCapacity: int32(g.Desired), DefaultCooldown: 300,
		AvailabilityZones: []string{a.Region + "a"}, LoadBalancerNames: []string{}, TargetGroupARNs: []string{},
		HealthCheckType: g.HealthCheckType, HealthCheckGracePeriod: new(int32(g.HealthCheckGracePeriod / time.Second)),
		Instances: []autoscaling.Instance{}, CreatedTime: g.Created, SuspendedProcesses: []autoscaling.SuspendedProcess{},
		VPCZoneIdentifier: new(ec2api.DefaultSubnet), EnabledMetrics: []autoscaling.EnabledMetric{}, Tags: []autoscaling.TagDescription{},
		TerminationPolicies: g.TerminationPolicies, NewInstancesProtectedFromScaleIn: new(false),
		ServiceLinkedRoleARN: new("arn:aws:iam::" + a.Account + ":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"),
		CapacityRebalance:    new(false), TrafficSources: []autoscaling.TrafficSourceIdentifier{},
	}
	if out.CreatedTime.IsZero() {
		out.CreatedTime = d.fleets[g.Fleet].Updated
	}
	if g.InstanceWarmup > 0 {
		out.DefaultInstanceWarmup = new(int32(g.InstanceWarmup / time.Second))
	}
	if g.TargetGroup != "" {
		arn := a.TargetGroups.TargetGroupARN(g.TargetGroup)
		out.TargetGroupARNs = []string{arn}
		out.TrafficSources = []autoscaling.TrafficSourceIdentifier{{Identifier: arn, Type: new("elbv2")}}
	}
	if f := d.fleets[g.Fleet]; f.Status != "" {
		out.Status = new(f.Status)
	}
	for _, k := range slices.Sorted(maps.Keys(g.Tags)) {
		out.Tags = append(out.Tags, autoscaling.TagDescription{ResourceId: new(g.Name), ResourceType: new("auto-scaling-group"),
			Key: new(k), Value: new(g.Tags[k]), PropagateAtLaunch: new(slices.Contains(g.PropagateAtLaunch, k))})
	}
	for _, r := range rows {
		if r.Fleet != g.Fleet || r.Service != g.Service {
			continue
		}
		i := a.instance(r, d)
		if strings.HasPrefix(i.LifecycleState, "Warmed:") {
			out.WarmPoolSize = new(awswire.Value(out.WarmPoolSize) + 1)
			continue
		}
		out.Instances = append(out.Instances, groupInstance(i))
	}
	if g.WarmPool != nil {
		out.WarmPoolConfiguration = warmPoolConfiguration(g.WarmPool)
		out.WarmPoolSize = new(awswire.Value(out.WarmPoolSize))
	}
	return out
}

// groupInstance is i as a group's description lists it.
func groupInstance(i autoscaling.AutoScalingInstanceDetails) autoscaling.Instance {
	return autoscaling.Instance{InstanceId: i.InstanceId, InstanceType: i.InstanceType, AvailabilityZone: i.AvailabilityZone,
		LifecycleState: i.LifecycleState, HealthStatus: i.HealthStatus, LaunchTemplate: i.LaunchTemplate, ProtectedFromScaleIn: i.ProtectedFromScaleIn}
}

// instance is an instance of a group as Auto Scaling describes it.
func (a *AutoScaling) instance(r api.InstanceRow, d described) autoscaling.AutoScalingInstanceDetails {
	state := r.Phase
	if state == "" {
		state = api.Pending
	}
	health := "Healthy"
	if r.Health == "unhealthy" {
		health = "Unhealthy"
	}
	i := autoscaling.AutoScalingInstanceDetails{InstanceId: r.ID, AvailabilityZone: a.Region + "a", LifecycleState: state,
		HealthStatus: health, ProtectedFromScaleIn: r.Protected, AutoScalingGroupName: groupOf(r, d)}
	if name, ver, ok := strings.Cut(r.LaunchTemplate, ":"); ok {
		i.LaunchTemplate = &autoscaling.LaunchTemplateSpecification{LaunchTemplateId: new(d.templates[name].ID), LaunchTemplateName: new(name), Version: new(ver)}
		if t := d.types[r.LaunchTemplate]; t != "" {
			i.InstanceType = new(t)
		}
	}
	if id, err := store.ImageID(r.ImageDigest); err == nil {
		i.ImageId = &id
	}
	return i
}

// groupOf is the group an instance row belongs to, or "".
func groupOf(r api.InstanceRow, d described) string {
	for _, g := range d.groups {
		if g.Fleet == r.Fleet && g.Service == r.Service {
			return g.Name
		}
	}
	return ""
}

func (a *AutoScaling) describeInstances(ctx context.Context, in *autoscaling.DescribeAutoScalingInstancesInput) (*autoscaling.DescribeAutoScalingInstancesOutput, error) {
	d, rows, err := a.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	out := &autoscaling.DescribeAutoScalingInstancesOutput{AutoScalingInstances: []autoscaling.AutoScalingInstanceDetails{}}
	for _, r := range rows {
		if groupOf(r, d) == "" || (len(in.InstanceIds) > 0 && !slices.Contains(in.InstanceIds, r.ID)) {
			continue
		}
		out.AutoScalingInstances = append(out.AutoScalingInstances, a.instance(r, d))
	}
	return out, nil
}
