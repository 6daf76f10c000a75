// Package elbv2api answers Elastic Load Balancing v2: target groups,
// application load balancers with their listener, and the health of the
// targets, over the same resources a fleet file's balancers are.
package elbv2api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awsapi/ec2api"
	"github.com/vmfleet/vmfleet/pkg/awswire/elbv2"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// Runtime is what ELBv2 asks of the running fleets.
type Runtime interface {
	// RebindGroups hands the groups behind a target group, or the
	// balancer of its registered instances, a changed listener, setting
	// or registration.
	RebindGroups(ctx context.Context, targetGroup string) error
	// TargetHealth is the health of the instances registered with a
	// target group, by id, as its balancer checks them.
	TargetHealth(targetGroup string) map[string]string
	// Instances are the instances, with their health.
	Instances(ctx context.Context) ([]api.InstanceRow, error)
}

// ELBv2 is the Elastic Load Balancing v2 service of one home.
type ELBv2 struct {
	Store   *store.Store
	Runtime Runtime
	Account string
	Region  string
}

// Service is the endpoint's Elastic Load Balancing v2.
func (e *ELBv2) Service() *awsapi.Service {
	return &awsapi.Service{
		SigningName: elbv2.SigningName, Version: elbv2.APIVersion, Protocol: awsapi.Query,
		Operations: elbv2.Operations(), EncodeError: elbv2.EncodeError,
		Handlers: map[string]awsapi.Handler{
			"CreateTargetGroup":              awsapi.Op(e.createTargetGroup),
			"DescribeTargetGroups":           awsapi.Op(e.describeTargetGroups),
			"DeleteTargetGroup":              awsapi.Op(e.deleteTargetGroup),
			"CreateLoadBalancer":             awsapi.Op(e.createLoadBalancer),
			"DescribeLoadBalancers":          awsapi.Op(e.describeLoadBalancers),
			"DeleteLoadBalancer":             awsapi.Op(e.deleteLoadBalancer),
			"CreateListener":                 awsapi.Op(e.createListener),
			"DescribeListeners":              awsapi.Op(e.describeListeners),
			"DescribeRules":                  awsapi.Op(e.describeRules),
			"DeleteListener":                 awsapi.Op(e.deleteListener),
			"DescribeTargetHealth":           awsapi.Op(e.describeTargetHealth),
			"RegisterTargets":                awsapi.Op(e.registerTargets),
			"DeregisterTargets":              awsapi.Op(e.deregisterTargets),
			"AddTags":                        awsapi.Op(e.addTags),
			"RemoveTags":                     awsapi.Op(e.removeTags),
			"DescribeTags":                   awsapi.Op(e.describeTags),
			"DescribeTargetGroupAttributes":  awsapi.Op(e.describeTargetGroupAttributes),
			"ModifyTargetGroupAttributes":    awsapi.Op(e.modifyTargetGroupAttributes),
			"DescribeLoadBalancerAttributes": awsapi.Op(e.describeLoadBalancerAttributes),
			"ModifyLoadBalancerAttributes":   awsapi.Op(e.modifyLoadBalancerAttributes),
		},
	}
}

// ARNs. A resource's id in its ARN is derived from its name, so that the
// resources a fleet file made have ARNs too, the same after a restart.
func id16(kind, name string) string {
	sum := sha256.Sum256([]byte(kind + "/" + name))
	return hex.EncodeToString(sum[:8])
}

func (e *ELBv2) prefix() string {
	return fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:", e.Region, e.Account)
}

// TargetGroupARN is the ARN of the target group called name.
func (e *ELBv2) TargetGroupARN(name string) string {
	return e.prefix() + "targetgroup/" + name + "/" + id16("targetgroup", name)
}

func (e *ELBv2) loadBalancerARN(name string) string {
	return e.prefix() + "loadbalancer/app/" + name + "/" + id16("loadbalancer", name)
}

func (e *ELBv2) listenerARN(lb string) string {
	return e.prefix() + "listener/app/" + lb + "/" + id16("loadbalancer", lb) + "/" + id16("listener", lb)
}

// nameIn reads the name out of an ARN of the given kind
// ("targetgroup/", "loadbalancer/app/", "listener/app/") made by this
// endpoint, or "".
func (e *ELBv2) nameIn(arn, kind string) string {
	rest, ok := strings.CutPrefix(arn, e.prefix()+kind)
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	return name
}

// TargetGroupName is the target group an ARN names, or AWS's error.
func (e *ELBv2) TargetGroupName(arn string) (string, error) {
	name := e.nameIn(arn, "targetgroup/")
	if name == "" || e.TargetGroupARN(name) != arn {
		return "", e.fault("TargetGroupNotFound", "One or more target groups not found")
	}
	return name, nil
}

func (e *ELBv2) loadBalancerName(arn string) (string, error) {
	name := e.nameIn(arn, "loadbalancer/app/")
	if name == "" || e.loadBalancerARN(name) != arn {
		return "", e.fault("LoadBalancerNotFound", "One or more load balancers not found")
	}
	return name, nil
}

func (e *ELBv2) listenerLB(arn string) (string, error) {
	name := e.nameIn(arn, "listener/app/")
	if name == "" || e.listenerARN(name) != arn {
		return "", e.fault("ListenerNotFound", "One or more listeners not found")
	}
	return name, nil
}

func (e *ELBv2) fault(code, msg string) error {
	return awsapi.Modeled(elbv2.ModeledError, code, "%s", msg)
}

func tagMap(tags []elbv2.Tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, t := range tags {
		v := ""
		if t.Value != nil {
			v = *t.Value
		}
		m[t.Key] = v
	}
	return m
}

// defaultVPC is where every target group and load balancer is.
const defaultVPC = ec2api.DefaultVPC

const (
	ec2DefaultSubnet        = ec2api.DefaultSubnet
	ec2DefaultSecurityGroup = ec2api.DefaultSecurityGroup
)
