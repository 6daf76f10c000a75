package elbv2api

import (
	"context"
	"errors"
	"reflect"
	"regexp"
	"strconv"
	"time"

	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire/elbv2"
	"github.com/vmfleet/vmfleet/pkg/health"
	"github.com/vmfleet/vmfleet/pkg/limits"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// namePattern is ELBv2's rule for target group and load balancer names:
// up to 32 letters, digits and hyphens, not starting or ending with one.
var namePattern = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?$`)

func checkName(kind, name string) error {
	if !namePattern.MatchString(name) {
		return awsapi.Validation("%s name '%s' must be 1 to 32 letters, digits and hyphens, and must not begin or end with a hyphen", kind, name)
	}
	return nil
}

func (e *ELBv2) createTargetGroup(ctx context.Context, in *elbv2.CreateTargetGroupInput) (*elbv2.CreateTargetGroupOutput, error) {
	tg, err := targetGroupOf(in)
	if err != nil {
		return nil, err
	}
	var out elbv2.TargetGroup
	err = e.Store.Update(ctx, func(tx *store.Tx) error {
		old, err := tx.GetTargetGroup(tg.Name)
		switch {
		case err == nil:
			// AWS answers a create of the same target group with it.
			tg.Created = old.Created
			if !reflect.DeepEqual(old, tg) {
				return e.fault("DuplicateTargetGroupName", "A target group with the same name '"+tg.Name+"' exists, but with different settings")
			}
		case errors.Is(err, store.ErrNotFound):
			if err := tx.PutTargetGroup(&tg); err != nil {
				return err
			}
		default:
			return err
		}
		out, err = e.describeTargetGroup(tx, tg)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &elbv2.CreateTargetGroupOutput{TargetGroups: []elbv2.TargetGroup{out}}, nil
}

// targetGroupOf checks a CreateTargetGroup as AWS does and makes the
// target group it asks for, with ALB's defaults.
func targetGroupOf(in *elbv2.CreateTargetGroupInput) (store.TargetGroup, error) {
	tg := store.TargetGroup{Name: in.Name, Protocol: "HTTP", Tags: tagMap(in.Tags), Created: time.Now().UTC().Truncate(time.Second),
		HealthCheck: health.DefaultCheck(), DeregistrationDelay: limits.DefaultDeregistrationDelay}
	if err := checkName("Target group", in.Name); err != nil {
		return tg, err
	}
	if in.TargetType != nil && *in.TargetType != "instance" {
		return tg, awsapi.Validation("Target type '%s' is not supported: vmfleet's targets are instances", *in.TargetType)
	}
	if in.Protocol != nil && *in.Protocol != "HTTP" {
		return tg, awsapi.Validation("Protocol '%s' is not supported: vmfleet's load balancers are application load balancers over HTTP", *in.Protocol)
	}
	if in.Protocol == nil || in.Port == nil {
		return tg, awsapi.Validation("A protocol and port are required for a target group with target type 'instance'")
	}
	if err := limits.CheckPort(int(*in.Port)); err != nil {
		return tg, awsapi.Validation("Port %d: %v", *in.Port, err)
	}
	tg.Port = int(*in.Port)
	hc := &tg.HealthCheck
	if p := in.HealthCheckProtocol; p != nil && *p != "HTTP" {
		return tg, awsapi.Validation("Health check protocol '%s' is not supported; use HTTP", *p)
	}
	if p := in.HealthCheckPort; p != nil && *p != "traffic-port" && *p != strconv.Itoa(tg.Port) {
		return tg, awsapi.Validation("Health check port '%s' is not supported; vmfleet checks the traffic port", *p)
	}
	if in.HealthCheckPath != nil {
		if len(*in.HealthCheckPath) == 0 || (*in.HealthCheckPath)[0] != '/' {
			return tg, awsapi.Validation("Health check path '%s' must begin with a '/'", *in.HealthCheckPath)
		}
		hc.Path = *in.HealthCheckPath
	}
	if v := in.HealthCheckIntervalSeconds; v != nil {
		hc.Interval = time.Duration(*v) * time.Second
		if err := limits.CheckHealthInterval(hc.Interval); err != nil {
			return tg, awsapi.Validation("Health check interval %d: %v", *v, err)
		}
	}
	if v := in.HealthCheckTimeoutSeconds; v != nil {
		hc.Timeout = time.Duration(*v) * time.Second
		if err := limits.CheckHealthTimeout(hc.Timeout); err != nil {
			return tg, awsapi.Validation("Health check timeout %d: %v", *v, err)
		}
	}
	if hc.Timeout >= hc.Interval {
		return tg, awsapi.Validation("Health check timeout [%d] must be smaller than the interval [%d]", hc.Timeout/time.Second, hc.Interval/time.Second)
	}
	for _, th := range []struct {
		name string
		v    *int32
		to   *int
	}{{"Healthy threshold", in.HealthyThresholdCount, &hc.HealthyThreshold}, {"Unhealthy threshold", in.UnhealthyThresholdCount, &hc.UnhealthyThreshold}} {
		if th.v == nil {
			continue
		}
		if *th.v < limits.MinThreshold || *th.v > limits.MaxThreshold {
			return tg, awsapi.Validation("%s count must be from %d to %d", th.name, limits.MinThreshold, limits.MaxThreshold)
		}
		*th.to = int(*th.v)
	}
	return tg, nil
}

func (e *ELBv2) describeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput) (*elbv2.DescribeTargetGroupsOutput, error) {
	out := &elbv2.DescribeTargetGroupsOutput{TargetGroups: []elbv2.TargetGroup{}}
	err := e.Store.View(ctx, func(tx *store.Tx) error {
		names := in.Names
		for _, arn := range in.TargetGroupArns {
			name, err := e.TargetGroupName(arn)
			if err != nil {
				return err
			}
			names = append(names, name)
		}
		var tgs []store.TargetGroup
		for _, name := range names {
			tg, err := tx.GetTargetGroup(name)
			if errors.Is(err, store.ErrNotFound) {
				return e.fault("TargetGroupNotFound", "One or more target groups not found")
			} else if err != nil {
				return err
			}
			tgs = append(tgs, tg)
		}
		if len(names) == 0 {
			all, err := tx.ListTargetGroups()
			if err != nil {
				return err
			}
			tgs = all
		}
		var behind string
		if in.LoadBalancerArn != nil {
			lbName, err := e.loadBalancerName(*in.LoadBalancerArn)
			if err != nil {
				return err
			}
			lb, err := tx.GetLoadBalancer(lbName)
			if err != nil {
				return e.fault("LoadBalancerNotFound", "One or more load balancers not found")
			}
			behind = lb.Listener.TargetGroup
		}
		for _, tg := range tgs {
			if in.LoadBalancerArn != nil && tg.Name != behind {
				continue
			}
			d, err := e.describeTargetGroup(tx, tg)
			if err != nil {
				return err
			}
			out.TargetGroups = append(out.TargetGroups, d)
		}
		return nil
	})
	return out, err
}

func (e *ELBv2) describeTargetGroup(tx *store.Tx, tg store.TargetGroup) (elbv2.TargetGroup, error) {
	hc := tg.HealthCheck.WithDefaults()
	port, err := portOf(tx, tg)
	if err != nil {
		return elbv2.TargetGroup{}, err
	}
	d := elbv2.TargetGroup{
		TargetGroupArn: new(e.TargetGroupARN(tg.Name)), TargetGroupName: new(tg.Name), Protocol: new("HTTP"), Port: new(int32(port)),
		VpcId: new(defaultVPC), TargetType: new("instance"), ProtocolVersion: new("HTTP1"), IpAddressType: new("ipv4"),
		HealthCheckEnabled: new(true), HealthCheckProtocol: new("HTTP"), HealthCheckPort: new("traffic-port"), HealthCheckPath: new(hc.Path),
		HealthCheckIntervalSeconds: new(int32(hc.Interval / time.Second)), HealthCheckTimeoutSeconds: new(int32(hc.Timeout / time.Second)),
		HealthyThresholdCount: new(int32(hc.HealthyThreshold)), UnhealthyThresholdCount: new(int32(hc.UnhealthyThreshold)),
		Matcher: &elbv2.Matcher{HttpCode: new("200")}, LoadBalancerArns: []string{},
	}
	lbs, err := tx.ListLoadBalancers()
	for _, lb := range lbs {
		if lb.Listener.TargetGroup == tg.Name && lb.Listener.Listen != "" {
			d.LoadBalancerArns = append(d.LoadBalancerArns, e.loadBalancerARN(lb.Name))
		}
	}
	return d, err
}

// portOf is a target group's port: its own, or for a fleet's the port
// of the service behind it.
func portOf(tx *store.Tx, tg store.TargetGroup) (int, error) {
	if tg.Port != 0 {
		return tg.Port, nil
	}
	g, err := tx.GetGroup(tg.Name)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	v, err := tx.LaunchTemplateVersion(g.LaunchTemplate, g.LaunchTemplateVersion)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	return v.Port, err
}

func (e *ELBv2) deleteTargetGroup(ctx context.Context, in *elbv2.DeleteTargetGroupInput) (*elbv2.DeleteTargetGroupOutput, error) {
	name, err := e.TargetGroupName(in.TargetGroupArn)
	if err != nil {
		return nil, err
	}
	err = e.Store.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.GetTargetGroup(name); errors.Is(err, store.ErrNotFound) {
			return nil // AWS: deleting what is gone succeeds
		} else if err != nil {
			return err
		}
		lbs, err := tx.ListLoadBalancers()
		if err != nil {
			return err
		}
		for _, lb := range lbs {
			if lb.Listener.TargetGroup == name {
				return e.fault("ResourceInUse", "Target group '"+in.TargetGroupArn+"' is currently in use by a listener or a rule")
			}
		}
		groups, err := tx.ListGroups()
		if err != nil {
			return err
		}
		for _, g := range groups {
			if g.TargetGroup == name {
				return e.fault("ResourceInUse", "Target group '"+in.TargetGroupArn+"' is attached to the Auto Scaling group "+g.Name+"; detach it or delete the group first")
			}
		}
		return tx.DeleteTargetGroup(name)
	})
	if err != nil {
		return nil, err
	}
	return &elbv2.DeleteTargetGroupOutput{}, nil
}
