package elbv2_test

import (
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkelbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/vmfleet/vmfleet/pkg/awswire/awswiretest"
	"github.com/vmfleet/vmfleet/pkg/awswire/elbv2"
)

const tgARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/6d0ecf831eec9f09"

func TestCreateTargetGroupWithTheSDK(t *testing.T) {
	ptr := awswiretest.Ptr[string]
	i32 := awswiretest.Ptr[int32]
	c := awswiretest.Client(t, awswiretest.Answer(t, elbv2.DecodeCreateTargetGroupInput, elbv2.EncodeCreateTargetGroupResponse,
		func(_ url.Values, in *elbv2.CreateTargetGroupInput) *elbv2.CreateTargetGroupOutput {
			awswiretest.Equal(t, "decoded input", in, &elbv2.CreateTargetGroupInput{
				Name:                       "web",
				Protocol:                   ptr("HTTP"),
				Port:                       i32(8080),
				VpcId:                      ptr("vpc-1"),
				HealthCheckEnabled:         awswiretest.Ptr(true),
				HealthCheckPath:            ptr("/healthz"),
				HealthCheckIntervalSeconds: i32(10),
				HealthyThresholdCount:      i32(2),
				Matcher:                    &elbv2.Matcher{HttpCode: ptr("200-299")},
				TargetType:                 ptr("instance"),
				Tags:                       []elbv2.Tag{{Key: "team", Value: ptr("infra")}, {Key: "env"}},
			})
			return &elbv2.CreateTargetGroupOutput{TargetGroups: []elbv2.TargetGroup{{
				TargetGroupArn:             ptr(tgARN),
				TargetGroupName:            ptr(in.Name),
				Protocol:                   in.Protocol,
				Port:                       in.Port,
				VpcId:                      in.VpcId,
				HealthCheckEnabled:         in.HealthCheckEnabled,
				HealthCheckPath:            in.HealthCheckPath,
				HealthCheckIntervalSeconds: in.HealthCheckIntervalSeconds,
				Matcher:                    in.Matcher,
				LoadBalancerArns:           []string{},
				TargetType:                 in.TargetType,
			}}}
		}), sdkelbv2.NewFromConfig)
	got, err := c.CreateTargetGroup(t.Context(), &sdkelbv2.CreateTargetGroupInput{
		Name:                       aws.String("web"),
		Protocol:                   elbtypes.ProtocolEnumHttp,
		Port:                       aws.Int32(8080),
		VpcId:                      aws.String("vpc-1"),
		HealthCheckEnabled:         aws.Bool(true),
		HealthCheckPath:            aws.String("/healthz"),
		HealthCheckIntervalSeconds: aws.Int32(10),
		HealthyThresholdCount:      aws.Int32(2),
		Matcher:                    &elbtypes.Matcher{HttpCode: aws.String("200-299")},
		TargetType:                 elbtypes.TargetTypeEnumInstance,
		Tags:                       []elbtypes.Tag{{Key: aws.String("team"), Value: aws.String("infra")}, {Key: aws.String("env")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.TargetGroups) != 1 {
		t.Fatalf("got %d target groups, want 1", len(got.TargetGroups))
	}
	tg := got.TargetGroups[0]
	if aws.ToString(tg.TargetGroupArn) != tgARN || tg.Protocol != elbtypes.ProtocolEnumHttp || aws.ToInt32(tg.Port) != 8080 ||
		!aws.ToBool(tg.HealthCheckEnabled) || aws.ToString(tg.Matcher.HttpCode) != "200-299" ||
		tg.TargetType != elbtypes.TargetTypeEnumInstance || len(tg.LoadBalancerArns) != 0 || tg.HealthyThresholdCount != nil {
		t.Errorf("target group: %+v", tg)
	}
}

func TestDescribeTargetHealthWithTheSDK(t *testing.T) {
	ptr := awswiretest.Ptr[string]
	c := awswiretest.Client(t, awswiretest.Answer(t, elbv2.DecodeDescribeTargetHealthInput, elbv2.EncodeDescribeTargetHealthResponse,
		func(params url.Values, in *elbv2.DescribeTargetHealthInput) *elbv2.DescribeTargetHealthOutput {
			if params.Get("Targets.member.2.Id") != "i-2" {
				t.Errorf("the SDK did not send Targets.member.2.Id=i-2: %v", params)
			}
			awswiretest.Equal(t, "decoded input", in, &elbv2.DescribeTargetHealthInput{
				TargetGroupArn: tgARN,
				Targets:        []elbv2.TargetDescription{{Id: "i-1", Port: awswiretest.Ptr[int32](8080)}, {Id: "i-2"}},
			})
			return &elbv2.DescribeTargetHealthOutput{TargetHealthDescriptions: []elbv2.TargetHealthDescription{
				{
					Target:          &elbv2.TargetDescription{Id: "i-1", Port: awswiretest.Ptr[int32](8080)},
					HealthCheckPort: ptr("8080"),
					TargetHealth:    &elbv2.TargetHealth{State: ptr("healthy")},
				},
				{
					Target:          &elbv2.TargetDescription{Id: "i-2", Port: awswiretest.Ptr[int32](8080)},
					HealthCheckPort: ptr("8080"),
					TargetHealth: &elbv2.TargetHealth{
						State:       ptr("unhealthy"),
						Reason:      ptr("Target.ResponseCodeMismatch"),
						Description: ptr("Health checks failed with these codes: [503]"),
					},
				},
			}}
		}), sdkelbv2.NewFromConfig)
	got, err := c.DescribeTargetHealth(t.Context(), &sdkelbv2.DescribeTargetHealthInput{
		TargetGroupArn: aws.String(tgARN),
		Targets:        []elbtypes.TargetDescription{{Id: aws.String("i-1"), Port: aws.Int32(8080)}, {Id: aws.String("i-2")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.TargetHealthDescriptions) != 2 {
		t.Fatalf("got %d descriptions, want 2", len(got.TargetHealthDescriptions))
	}
	healthy, sick := got.TargetHealthDescriptions[0], got.TargetHealthDescriptions[1]
	if healthy.TargetHealth.State != elbtypes.TargetHealthStateEnumHealthy || healthy.TargetHealth.Reason != "" ||
		aws.ToString(healthy.Target.Id) != "i-1" || aws.ToInt32(healthy.Target.Port) != 8080 {
		t.Errorf("healthy target: %+v %+v", healthy.Target, healthy.TargetHealth)
	}
	if sick.TargetHealth.State != elbtypes.TargetHealthStateEnumUnhealthy ||
		sick.TargetHealth.Reason != elbtypes.TargetHealthReasonEnumResponseCodeMismatch ||
		aws.ToString(sick.TargetHealth.Description) != "Health checks failed with these codes: [503]" {
		t.Errorf("unhealthy target: %+v", sick.TargetHealth)
	}
}
