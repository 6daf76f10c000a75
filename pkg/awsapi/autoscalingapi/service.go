// Package autoscalingapi answers Auto Scaling: groups that launch real
// instances from launch templates behind target groups, over the same
// resources a fleet file's services are.
package autoscalingapi

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire/autoscaling"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// Runtime is what Auto Scaling asks of the running fleets.
type Runtime interface {
	// CreateGroup stores and starts a group; UpdateGroup hands a changed
	// one to its controller; DeleteGroup takes one down.
	CreateGroup(ctx context.Context, g store.Group) error
	UpdateGroup(ctx context.Context, g store.Group) error
	DeleteGroup(ctx context.Context, name string) error
	// SetDesiredCapacity stores a group's desired count and acts on it.
	SetDesiredCapacity(ctx context.Context, group string, n int) error
	// Protect sets an instance's scale-in protection.
	Protect(ctx context.Context, instance string, on bool) error
	// CompleteLifecycleAction and RecordLifecycleActionHeartbeat act on
	// a lifecycle action of fleet's group.
	CompleteLifecycleAction(ctx context.Context, fleet string, la api.LifecycleAction, result string) error
	RecordLifecycleActionHeartbeat(ctx context.Context, fleet string, la api.LifecycleAction) error
	// TerminateInGroup, SetInstanceHealth, EnterStandby and ExitStandby
	// act on one instance of a group.
	TerminateInGroup(ctx context.Context, id string, decrement bool) error
	SetInstanceHealth(ctx context.Context, id string, healthy, respectGrace bool) error
	EnterStandby(ctx context.Context, id string, decrement bool) error
	ExitStandby(ctx context.Context, id string) error
	Instances(ctx context.Context) ([]api.InstanceRow, error)
	// Activities are the events of the activity history, oldest first.
	Activities() []api.Event
}

// TargetGroups maps target group ARNs to names and back (ELBv2's).
type TargetGroups interface {
	TargetGroupName(arn string) (string, error)
	TargetGroupARN(name string) string
}

// AutoScaling is the Auto Scaling service of one home.
type AutoScaling struct {
	Store        *store.Store
	Runtime      Runtime
	TargetGroups TargetGroups
	Account      string
	Region       string
}

// Service is the endpoint's Auto Scaling.
func (a *AutoScaling) Service() *awsapi.Service {
	return &awsapi.Service{
		SigningName: autoscaling.SigningName, Version: autoscaling.APIVersion, Protocol: awsapi.Query,
		Operations: autoscaling.Operations(), EncodeError: autoscaling.EncodeError,
		Handlers: map[string]awsapi.Handler{
			"CreateAutoScalingGroup":              awsapi.Op(a.createGroup),
			"UpdateAutoScalingGroup":              awsapi.Op(a.updateGroup),
			"DescribeAutoScalingGroups":           awsapi.Op(a.describeGroups),
			"DeleteAutoScalingGroup":              awsapi.Op(a.deleteGroup),
			"SetDesiredCapacity":                  awsapi.Op(a.setDesiredCapacity),
			"DescribeAutoScalingInstances":        awsapi.Op(a.describeInstances),
			"AttachLoadBalancerTargetGroups":      awsapi.Op(a.attachTargetGroups),
			"DetachLoadBalancerTargetGroups":      awsapi.Op(a.detachTargetGroups),
			"StartInstanceRefresh":                awsapi.Op(a.startRefresh),
			"DescribeInstanceRefreshes":           awsapi.Op(a.describeRefreshes),
			"CancelInstanceRefresh":               awsapi.Op(a.cancelRefresh),
			"RollbackInstanceRefresh":             awsapi.Op(a.rollbackRefresh),
			"CreateOrUpdateTags":                  awsapi.Op(a.createOrUpdateTags),
			"DeleteTags":                          awsapi.Op(a.deleteTags),
			"DescribeTags":                        awsapi.Op(a.describeTags),
			"DescribeScalingActivities":           awsapi.Op(a.describeActivities),
			"PutScalingPolicy":                    awsapi.Op(a.putScalingPolicy),
			"DescribePolicies":                    awsapi.Op(a.describePolicies),
			"DeletePolicy":                        awsapi.Op(a.deletePolicy),
			"SetInstanceProtection":               awsapi.Op(a.setInstanceProtection),
			"PutLifecycleHook":                    awsapi.Op(a.putLifecycleHook),
			"DescribeLifecycleHooks":              awsapi.Op(a.describeLifecycleHooks),
			"DeleteLifecycleHook":                 awsapi.Op(a.deleteLifecycleHook),
			"CompleteLifecycleAction":             awsapi.Op(a.completeLifecycleAction),
			"RecordLifecycleActionHeartbeat":      awsapi.Op(a.recordLifecycleActionHeartbeat),
			"TerminateInstanceInAutoScalingGroup": awsapi.Op(a.terminateInstance),
			"SetInstanceHealth":                   awsapi.Op(a.setInstanceHealth),
			"EnterStandby":                        awsapi.Op(a.enterStandby),
			"ExitStandby":                         awsapi.Op(a.exitStandby),
			"PutWarmPool":                         awsapi.Op(a.putWarmPool),
			"EnableMetricsCollection":             awsapi.Op(a.enableMetricsCollection),
			"DisableMetricsCollection":            awsapi.Op(a.disableMetricsCollection),
			"DescribeWarmPool":                    awsapi.Op(a.describeWarmPool),
			"DeleteWarmPool":                      awsapi.Op(a.deleteWarmPool),
		},
	}
}

// groupARN is a group's ARN, its id derived from its name so that a
// fleet's groups have one too, the same after a restart.
func (a *AutoScaling) groupARN(name string) string {
	return fmt.Sprintf("arn:aws:autoscaling:%s:%s:autoScalingGroup:%s:autoScalingGroupName/%s", a.Region, a.Account, derivedID("autoScalingGroup/"+name), name)
}

// derivedID is a UUID made from name (version 5): the same name, the
// same id, after a restart too.
func derivedID(name string) string { return uuid.NewSHA1(uuid.NameSpaceURL, []byte(name)).String() }

func (a *AutoScaling) fault(code, format string, args ...any) error {
	return awsapi.Modeled(autoscaling.ModeledError, code, format, args...)
}
