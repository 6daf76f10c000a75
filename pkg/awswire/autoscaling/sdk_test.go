package autoscaling_test

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkautoscaling "github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/smithy-go"

	"github.com/vmfleet/vmfleet/pkg/awswire"
	"github.com/vmfleet/vmfleet/pkg/awswire/autoscaling"
	"github.com/vmfleet/vmfleet/pkg/awswire/awswiretest"
)

var created = time.Date(2024, 5, 1, 12, 30, 15, 0, time.UTC)

func client(t *testing.T, handle awswiretest.Handler) *sdkautoscaling.Client {
	return awswiretest.Client(t, handle, sdkautoscaling.NewFromConfig)
}

func TestCreateAutoScalingGroupWithTheSDK(t *testing.T) {
	ptr := awswiretest.Ptr[string]
	c := client(t, awswiretest.Answer(t, autoscaling.DecodeCreateAutoScalingGroupInput, autoscaling.EncodeCreateAutoScalingGroupResponse, func(params url.Values, in *autoscaling.CreateAutoScalingGroupInput) *autoscaling.CreateAutoScalingGroupOutput {
		// The query protocol wraps list items in "member".
		if params.Get("Tags.member.2.PropagateAtLaunch") != "false" {
			t.Errorf("the SDK did not send Tags.member.2.PropagateAtLaunch=false: %v", params)
		}
		awswiretest.Equal(t, "decoded input", in, &autoscaling.CreateAutoScalingGroupInput{
			AutoScalingGroupName: "web",
			LaunchTemplate:       &autoscaling.LaunchTemplateSpecification{LaunchTemplateName: ptr("web-lt"), Version: ptr("$Latest")},
			MinSize:              1,
			MaxSize:              4,
			DesiredCapacity:      awswiretest.Ptr[int32](2),
			// Sent empty ("AvailabilityZones="), which is not the same as not sent.
			AvailabilityZones: []string{},
			TargetGroupARNs: []string{
				"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/1",
				"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/2",
			},
			HealthCheckType:   ptr("ELB"),
			VPCZoneIdentifier: ptr("subnet-1,subnet-2"),
			Tags: []autoscaling.Tag{
				{Key: "Name", Value: ptr("web"), PropagateAtLaunch: awswiretest.Ptr(true)},
				{Key: "cost", Value: ptr("infra"), PropagateAtLaunch: awswiretest.Ptr(false)},
			},
		})
		return nil
	}))
	_, err := c.CreateAutoScalingGroup(t.Context(), &sdkautoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("web"),
		LaunchTemplate:       &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web-lt"), Version: aws.String("$Latest")},
		MinSize:              aws.Int32(1),
		MaxSize:              aws.Int32(4),
		DesiredCapacity:      aws.Int32(2),
		AvailabilityZones:    []string{},
		TargetGroupARNs: []string{
			"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/1",
			"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/2",
		},
		HealthCheckType:   aws.String("ELB"),
		VPCZoneIdentifier: aws.String("subnet-1,subnet-2"),
		Tags: []astypes.Tag{
			{Key: aws.String("Name"), Value: aws.String("web"), PropagateAtLaunch: aws.Bool(true)},
			{Key: aws.String("cost"), Value: aws.String("infra"), PropagateAtLaunch: aws.Bool(false)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// webGroup is the group the describe tests answer with: two instances in
// different lifecycle states, tags, a warm-pool-less group's zero values.
func webGroup() autoscaling.AutoScalingGroup {
	ptr := awswiretest.Ptr[string]
	return autoscaling.AutoScalingGroup{
		AutoScalingGroupName:   "web",
		AutoScalingGroupARN:    ptr("arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:1:autoScalingGroupName/web"),
		LaunchTemplate:         &autoscaling.LaunchTemplateSpecification{LaunchTemplateId: ptr("lt-1"), LaunchTemplateName: ptr("web-lt"), Version: ptr("3")},
		MinSize:                1,
		MaxSize:                4,
		DesiredCapacity:        2,
		DefaultCooldown:        300,
		AvailabilityZones:      []string{"us-east-1a", "us-east-1b"},
		LoadBalancerNames:      []string{},
		TargetGroupARNs:        []string{"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/1"},
		HealthCheckType:        "ELB",
		HealthCheckGracePeriod: awswiretest.Ptr[int32](60),
		CreatedTime:            created,
		Instances: []autoscaling.Instance{
			{InstanceId: "i-1", InstanceType: ptr("t3.micro"), AvailabilityZone: "us-east-1a", LifecycleState: "InService", HealthStatus: "Healthy", ProtectedFromScaleIn: true},
			{InstanceId: "i-2", AvailabilityZone: "us-east-1b", LifecycleState: "Pending:Wait", HealthStatus: "Healthy"},
		},
		Tags: []autoscaling.TagDescription{
			{ResourceId: ptr("web"), ResourceType: ptr("auto-scaling-group"), Key: ptr("Name"), Value: ptr("web"), PropagateAtLaunch: awswiretest.Ptr(true)},
		},
		NewInstancesProtectedFromScaleIn: awswiretest.Ptr(false),
	}
}

// describeHandler answers DescribeAutoScalingGroups for group "web".
func describeHandler(t *testing.T) awswiretest.Handler {
	return awswiretest.Answer(t, autoscaling.DecodeDescribeAutoScalingGroupsInput, autoscaling.EncodeDescribeAutoScalingGroupsResponse, func(_ url.Values, in *autoscaling.DescribeAutoScalingGroupsInput) *autoscaling.DescribeAutoScalingGroupsOutput {
		if len(in.AutoScalingGroupNames) != 1 || in.AutoScalingGroupNames[0] != "web" {
			t.Errorf("decoded group names %v, want [web]", in.AutoScalingGroupNames)
		}
		return &autoscaling.DescribeAutoScalingGroupsOutput{AutoScalingGroups: []autoscaling.AutoScalingGroup{webGroup()}}
	})
}

func TestDescribeAutoScalingGroupsWithTheSDK(t *testing.T) {
	c := client(t, describeHandler(t))
	got, err := c.DescribeAutoScalingGroups(t.Context(), &sdkautoscaling.DescribeAutoScalingGroupsInput{
		AutoScalingGroupNames: []string{"web"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.AutoScalingGroups) != 1 {
		t.Fatalf("got %d groups, want 1", len(got.AutoScalingGroups))
	}
	g := got.AutoScalingGroups[0]
	if aws.ToString(g.AutoScalingGroupName) != "web" || aws.ToInt32(g.MinSize) != 1 || aws.ToInt32(g.MaxSize) != 4 ||
		aws.ToInt32(g.DesiredCapacity) != 2 || !aws.ToTime(g.CreatedTime).Equal(created) ||
		aws.ToString(g.LaunchTemplate.Version) != "3" || aws.ToInt32(g.HealthCheckGracePeriod) != 60 ||
		len(g.AvailabilityZones) != 2 || g.AvailabilityZones[1] != "us-east-1b" || len(g.LoadBalancerNames) != 0 ||
		aws.ToBool(g.NewInstancesProtectedFromScaleIn) {
		t.Errorf("group: %+v", g)
	}
	if len(g.Instances) != 2 {
		t.Fatalf("got %d instances, want 2", len(g.Instances))
	}
	if i := g.Instances[0]; aws.ToString(i.InstanceId) != "i-1" || i.LifecycleState != astypes.LifecycleStateInService ||
		!aws.ToBool(i.ProtectedFromScaleIn) || aws.ToString(i.InstanceType) != "t3.micro" {
		t.Errorf("first instance: %+v", i)
	}
	if i := g.Instances[1]; i.LifecycleState != astypes.LifecycleStatePendingWait || aws.ToBool(i.ProtectedFromScaleIn) {
		t.Errorf("second instance: %+v", i)
	}
	if len(g.Tags) != 1 || !aws.ToBool(g.Tags[0].PropagateAtLaunch) || aws.ToString(g.Tags[0].ResourceType) != "auto-scaling-group" {
		t.Errorf("tags: %+v", g.Tags)
	}
}

func TestTheSDKReadsTheQueryErrorEnvelope(t *testing.T) {
	c := client(t, awswiretest.AnswerError(t, autoscaling.EncodeError,
		awswire.ClientError("ValidationError"), "AutoScalingGroup name not found - web"))
	_, err := c.SetDesiredCapacity(t.Context(), &sdkautoscaling.SetDesiredCapacityInput{
		AutoScalingGroupName: aws.String("web"), DesiredCapacity: aws.Int32(3),
	})
	// The SDK reads Code and Message; it ignores <Type>, and takes the
	// request ID from the x-amzn-RequestId header, the router's business.
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ValidationError" ||
		apiErr.ErrorMessage() != "AutoScalingGroup name not found - web" {
		t.Fatalf("err = %v, want the API error ValidationError", err)
	}
}

func TestAModeledErrorReachesTheSDKAsItsTypedError(t *testing.T) {
	shape, ok := autoscaling.ModeledError(autoscaling.ErrCodeAlreadyExistsFault)
	if !ok || shape.Status() != http.StatusBadRequest || !shape.Sender {
		t.Fatalf("ModeledError(AlreadyExists) = %+v, %v; want the model's 400 Sender error", shape, ok)
	}
	c := client(t, awswiretest.AnswerError(t, autoscaling.EncodeError, shape, "group web exists"))
	_, err := c.CreateAutoScalingGroup(t.Context(), &sdkautoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("web"), MinSize: aws.Int32(0), MaxSize: aws.Int32(1),
	})
	var exists *astypes.AlreadyExistsFault
	if !errors.As(err, &exists) || exists.ErrorMessage() != "group web exists" {
		t.Fatalf("err = %v, want *types.AlreadyExistsFault", err)
	}
}
