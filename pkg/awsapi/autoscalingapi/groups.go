package autoscalingapi

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awsapi/ec2api"
	"github.com/vmfleet/vmfleet/pkg/awswire"
	"github.com/vmfleet/vmfleet/pkg/awswire/autoscaling"
	"github.com/vmfleet/vmfleet/pkg/limits"
	"github.com/vmfleet/vmfleet/pkg/store"
)

func (a *AutoScaling) createGroup(ctx context.Context, in *autoscaling.CreateAutoScalingGroupInput) (*autoscaling.CreateAutoScalingGroupOutput, error) {
	name := in.AutoScalingGroupName
	if err := checkGroupName(name); err != nil {
		return nil, err
	}
	if in.LaunchConfigurationName != nil || in.InstanceId != nil || in.MixedInstancesPolicy != nil || in.LaunchTemplate == nil {
		return nil, awsapi.Validation("vmfleet's groups launch from a launch template: give LaunchTemplate (launch configurations, mixed instances policies and instance ids are not supported)")
	}
	if len(in.LoadBalancerNames) > 0 {
		return nil, awsapi.Validation("Classic load balancers are not supported; give TargetGroupARNs")
	}
	if err := a.checkPlacement(in.VPCZoneIdentifier, in.AvailabilityZones); err != nil {
		return nil, err
	}
	g := store.Group{Name: name, Min: int(in.MinSize), Max: int(in.MaxSize), HealthCheckType: store.GroupHealthEC2,
		TerminationPolicies: []string{limits.TerminationDefault}, Created: time.Now().UTC().Truncate(time.Second)}
	g.Desired = g.Min
	if in.DesiredCapacity != nil {
		g.Desired = int(*in.DesiredCapacity)
	}
	if err := setSettings(&g, settings{in.HealthCheckType, in.HealthCheckGracePeriod, in.DefaultInstanceWarmup, in.TerminationPolicies}); err != nil {
		return nil, err
	}
	for _, h := range in.LifecycleHookSpecificationList {
		spec := hookSpec{name: h.LifecycleHookName, transition: &h.LifecycleTransition, metadata: h.NotificationMetadata,
			target: h.NotificationTargetARN, role: h.RoleARN, def: h.DefaultResult, heartbeat: h.HeartbeatTimeout}
		if slices.ContainsFunc(g.LifecycleHooks, func(o store.LifecycleHook) bool { return o.Name == h.LifecycleHookName }) {
			return nil, awsapi.Validation("LifecycleHookSpecificationList names the hook %s twice", h.LifecycleHookName)
		}
		if err := putHook(&g, spec); err != nil {
			return nil, err
		}
	}
	for _, t := range in.Tags {
		if g.Tags == nil {
			g.Tags = map[string]string{}
		}
		g.Tags[t.Key] = awswire.Value(t.Value)
		if t.PropagateAtLaunch != nil && *t.PropagateAtLaunch {
			g.PropagateAtLaunch = append(g.PropagateAtLaunch, t.Key)
		}
	}
	err := a.Store.View(ctx, func(tx *store.Tx) error {
		if _, err := tx.GetGroup(name); err == nil {
			return a.fault("AlreadyExists", "AutoScalingGroup by this name already exists - A group with the name %s already exists", name)
		}
		if _, err := tx.GetFleet(name); err == nil {
			return a.fault("AlreadyExists", "AutoScalingGroup by this name already exists - a fleet named %s runs (vmfleet ls)", name)
		}
		if err := a.launchTemplate(tx, &g, in.LaunchTemplate); err != nil {
			return err
		}
		return a.attach(tx, &g, in.TargetGroupARNs)
	})
	if err != nil {
		return nil, err
	}
	if err := a.Runtime.CreateGroup(ctx, g); err != nil {
		var ae *api.Error
		if errors.As(err, &ae) && ae.Kind == api.KindConflict {
			return nil, a.fault("AlreadyExists", "AutoScalingGroup by this name already exists - %s", ae.Message)
		}
		return nil, err
	}
	return &autoscaling.CreateAutoScalingGroupOutput{}, nil
}

// checkGroupName refuses a name AWS would: 1 to 255 characters of
// Unicode's letters, digits and punctuation but ':' (an ARN's separator).
// vmfleet's domain names want more: the name rule of a fleet.
func checkGroupName(name string) error {
	if err := limits.CheckName(name); err != nil {
		return awsapi.Validation("AutoScalingGroupName '%s': %v", name, err)
	}
	return nil
}

func checkCapacity(lo, hi, desired int) error {
	switch {
	case lo < 0 || hi < 0:
		return awsapi.Validation("MinSize and MaxSize must not be negative")
	case lo > hi:
		return awsapi.Validation("Max bound, %d, must be greater than or equal to min bound, %d", hi, lo)
	case hi > limits.MaxGroupSize: // 0 is AWS's way of emptying a group
		return awsapi.Validation("MaxSize %d is more than a group holds here (%d); this machine has memory for about that many small instances", hi, limits.MaxGroupSize)
	case desired < lo || desired > hi:
		return awsapi.Validation("Desired capacity:%d must be between the specified min size:%d and max size:%d", desired, lo, hi)
	}
	return nil
}

// settings are what CreateAutoScalingGroup and UpdateAutoScalingGroup
// both set, besides the capacity and launch template.
type settings struct {
	healthCheckType     *string
	grace, warmup       *int32
	terminationPolicies []string
}

// setSettings checks g's capacity and sets what s gives.
func setSettings(g *store.Group, s settings) error {
	if err := checkCapacity(g.Min, g.Max, g.Desired); err != nil {
		return err
	}
	if err := setHealth(g, s.healthCheckType, s.grace, s.warmup); err != nil {
		return err
	}
	if len(s.terminationPolicies) > 0 {
		if err := checkTerminationPolicies(s.terminationPolicies); err != nil {
			return err
		}
		g.TerminationPolicies = s.terminationPolicies
	}
	return nil
}

func setHealth(g *store.Group, typ *string, grace, warmup *int32) error {
	if typ != nil {
		if *typ != store.GroupHealthEC2 && *typ != store.GroupHealthELB {
			return awsapi.Validation("HealthCheckType '%s' is not supported; use EC2 or ELB", *typ)
		}
		g.HealthCheckType = *typ
	}
	if grace != nil {
		if *grace < 0 {
			return awsapi.Validation("HealthCheckGracePeriod must not be negative")
		}
		g.HealthCheckGracePeriod = time.Duration(*grace) * time.Second
	}
	if warmup != nil {
		d := time.Duration(*warmup) * time.Second
		if *warmup < 0 || d > limits.MaxInstanceWarmup {
			return awsapi.Validation("DefaultInstanceWarmup must be from 0 to %d seconds", int(limits.MaxInstanceWarmup/time.Second))
		}
		g.InstanceWarmup = d
	}
	return nil
}

func checkTerminationPolicies(ps []string) error {
	for _, p := range ps {
		if !slices.Contains(limits.TerminationPolicies(), p) {
			return awsapi.Validation("Termination policy '%s' is not one of %s", p, strings.Join(limits.TerminationPolicies(), ", "))
		}
	}
	return nil
}

// checkPlacement refuses subnets and zones other than the default ones.
func (a *AutoScaling) checkPlacement(subnets *string, zones []string) error {
	if subnets != nil {
		for _, s := range strings.Split(*subnets, ",") {
			if s = strings.TrimSpace(s); s != "" && s != ec2api.DefaultSubnet {
				return awsapi.Validation("The subnet ID '%s' does not exist; the default subnet is %s", s, ec2api.DefaultSubnet)
			}
		}
	}
	for _, z := range zones {
		if z != a.Region+"a" {
			return awsapi.Validation("The availability zone '%s' is not legal; this region has %sa", z, a.Region)
		}
	}
	return nil
}

// launchTemplate sets the launch template version g launches from.
func (a *AutoScaling) launchTemplate(tx *store.Tx, g *store.Group, spec *autoscaling.LaunchTemplateSpecification) error {
	var lt store.LaunchTemplate
	var err error
	switch {
	case spec.LaunchTemplateName != nil && spec.LaunchTemplateId == nil:
		lt, err = tx.GetLaunchTemplate(*spec.LaunchTemplateName)
	case spec.LaunchTemplateId != nil && spec.LaunchTemplateName == nil:
		lt, err = templateByID(tx, *spec.LaunchTemplateId)
	default:
		return awsapi.Validation("Valid requests must contain either launchTemplateId or LaunchTemplateName")
	}
	if errors.Is(err, store.ErrNotFound) {
		return awsapi.Validation("You must use a valid fully-formed launch template. The specified launch template does not exist.")
	} else if err != nil {
		return err
	}
	v, alias := lt.DefaultVersion, store.VersionDefault
	if spec.Version != nil {
		switch s := *spec.Version; s {
		case store.VersionDefault:
		case store.VersionLatest:
			v, alias = lt.LatestVersion, store.VersionLatest
		default:
			alias = ""
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > lt.LatestVersion {
				return awsapi.Validation("You must use a valid fully-formed launch template. The specified launch template version %s does not exist.", s)
			}
			v = n
		}
	}
	ver, err := tx.LaunchTemplateVersion(lt.Name, v)
	if err != nil {
		return err
	}
	if ver.ImageDigest == "" {
		return awsapi.Validation("You must use a valid fully-formed launch template. The launch template %s version %d has no ImageId.", lt.Name, v)
	}
	g.LaunchTemplate, g.LaunchTemplateVersion, g.LaunchTemplateAlias = lt.Name, v, alias
	return nil
}

func templateByID(tx *store.Tx, id string) (store.LaunchTemplate, error) {
	all, err := tx.ListLaunchTemplates()
	if err != nil {
		return store.LaunchTemplate{}, err
	}
	for _, lt := range all {
		if lt.ID == id {
			return lt, nil
		}
	}
	return store.LaunchTemplate{}, store.ErrNotFound
}

// attach puts g behind the target group an ARN names; vmfleet's groups
// are behind one target group at most, each target group in front of one
// group.
func (a *AutoScaling) attach(tx *store.Tx, g *store.Group, arns []string) error {
	switch len(arns) {
	case 0:
		return nil
	case 1:
	default:
		return awsapi.Validation("vmfleet's groups are behind one target group; give one TargetGroupARN")
	}
	name, err := a.TargetGroups.TargetGroupName(arns[0])
	if err != nil {
		return awsapi.Validation("Provided Target Groups may not be valid. Please ensure they exist and try again.")
	}
	tg, err := tx.GetTargetGroup(name)
	if errors.Is(err, store.ErrNotFound) {
		return awsapi.Validation("Provided Target Groups may not be valid. Please ensure they exist and try again.")
	} else if err != nil {
		return err
	}
	if len(tg.Targets) > 0 {
		return awsapi.Validation("The target group %s has instances registered with RegisterTargets (%s); deregister them first: in vmfleet a target group is in front of one group or of registered instances", name, strings.Join(tg.Targets, ", "))
	}
	groups, err := tx.ListGroups()
	if err != nil {
		return err
	}
	for _, other := range groups {
		if other.TargetGroup == name && other.Name != g.Name {
			return awsapi.Validation("The target group %s is attached to the group %s; in vmfleet a target group is in front of one group", name, other.Name)
		}
	}
	v, err := tx.LaunchTemplateVersion(g.LaunchTemplate, g.LaunchTemplateVersion)
	if err != nil {
		return err
	}
	if tg.Port != 0 && tg.Port != v.Port {
		return awsapi.Validation("The target group %s sends traffic to port %d, but the image of launch template %s serves port %d; make them agree", name, tg.Port, v.Ref(), v.Port)
	}
	g.TargetGroup = name
	return nil
}
