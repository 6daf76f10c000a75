package ec2_test

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/vmfleet/vmfleet/pkg/awswire"
	"github.com/vmfleet/vmfleet/pkg/awswire/awswiretest"
	"github.com/vmfleet/vmfleet/pkg/awswire/ec2"
)

var launched = time.Date(2024, 5, 1, 12, 30, 15, 0, time.UTC)

// client is an aws-sdk-go-v2 EC2 client whose requests handle answers.
func client(t *testing.T, handle awswiretest.Handler) *sdkec2.Client {
	return awswiretest.Client(t, handle, sdkec2.NewFromConfig)
}

func TestDescribeInstancesWithTheSDK(t *testing.T) {
	ptr := awswiretest.Ptr[string]
	c := client(t, awswiretest.Answer(t, ec2.DecodeDescribeInstancesInput, ec2.EncodeDescribeInstancesResponse, func(params url.Values, in *ec2.DescribeInstancesInput) *ec2.DescribeInstancesOutput {
		// EC2 numbers list items right after the name, Filter.1.Value.2.
		if params.Get("Filter.1.Value.2") != "api" {
			t.Errorf("the SDK did not send Filter.1.Value.2=api: %v", params)
		}
		awswiretest.Equal(t, "decoded input", in, &ec2.DescribeInstancesInput{
			InstanceIds: []string{"i-1", "i-2"},
			Filters: []ec2.Filter{
				{Name: ptr("tag:Name"), Values: []string{"web", "api"}},
				{Name: ptr("instance-state-name"), Values: []string{"running"}},
			},
			MaxResults: awswiretest.Ptr[int32](50),
		})
		return &ec2.DescribeInstancesOutput{Reservations: []ec2.Reservation{
			{
				ReservationId: ptr("r-1"),
				OwnerId:       ptr("123456789012"),
				Instances: []ec2.Instance{
					{
						InstanceId:   ptr("i-1"),
						ImageId:      ptr("ami-1"),
						InstanceType: ptr("t3.micro"),
						LaunchTime:   &launched,
						EbsOptimized: awswiretest.Ptr(false),
						State:        &ec2.InstanceState{Code: awswiretest.Ptr[int32](16), Name: ptr("running")},
						Placement:    &ec2.Placement{AvailabilityZone: ptr("us-east-1a")},
						Tags: []ec2.Tag{
							{Key: ptr("Name"), Value: ptr("web")},
							{Key: ptr("aws:autoscaling:groupName"), Value: ptr("web-asg")},
						},
					},
					{InstanceId: ptr("i-2"), State: &ec2.InstanceState{Code: awswiretest.Ptr[int32](0), Name: ptr("pending")}, Tags: []ec2.Tag{}},
				},
			},
			{ReservationId: ptr("r-2"), Instances: []ec2.Instance{}},
		}}
	}))
	got, err := c.DescribeInstances(t.Context(), &sdkec2.DescribeInstancesInput{
		InstanceIds: []string{"i-1", "i-2"},
		Filters: []ec2types.Filter{
			{Name: aws.String("tag:Name"), Values: []string{"web", "api"}},
			{Name: aws.String("instance-state-name"), Values: []string{"running"}},
		},
		MaxResults: aws.Int32(50),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Reservations) != 2 {
		t.Fatalf("got %d reservations, want 2", len(got.Reservations))
	}
	r := got.Reservations[0]
	if aws.ToString(r.ReservationId) != "r-1" || aws.ToString(r.OwnerId) != "123456789012" || len(r.Instances) != 2 {
		t.Fatalf("first reservation: %+v", r)
	}
	i := r.Instances[0]
	if aws.ToString(i.InstanceId) != "i-1" || i.InstanceType != ec2types.InstanceTypeT3Micro ||
		!aws.ToTime(i.LaunchTime).Equal(launched) || i.EbsOptimized == nil || *i.EbsOptimized ||
		i.State.Name != ec2types.InstanceStateNameRunning || aws.ToInt32(i.State.Code) != 16 ||
		aws.ToString(i.Placement.AvailabilityZone) != "us-east-1a" {
		t.Errorf("first instance: %+v", i)
	}
	if len(i.Tags) != 2 || aws.ToString(i.Tags[1].Key) != "aws:autoscaling:groupName" || aws.ToString(i.Tags[1].Value) != "web-asg" {
		t.Errorf("first instance's tags: %+v", i.Tags)
	}
	if second := r.Instances[1]; second.State.Name != ec2types.InstanceStateNamePending || aws.ToInt32(second.State.Code) != 0 || len(second.Tags) != 0 {
		t.Errorf("second instance: %+v", second)
	}
	if len(got.Reservations[1].Instances) != 0 {
		t.Errorf("second reservation has instances: %+v", got.Reservations[1].Instances)
	}
}

func TestCreateLaunchTemplateWithTheSDK(t *testing.T) {
	ptr := awswiretest.Ptr[string]
	tags := []ec2.Tag{{Key: ptr("Name"), Value: ptr("web")}, {Key: ptr("team"), Value: ptr("infra")}}
	c := client(t, awswiretest.Answer(t, ec2.DecodeCreateLaunchTemplateInput, ec2.EncodeCreateLaunchTemplateResponse, func(_ url.Values, in *ec2.CreateLaunchTemplateInput) *ec2.CreateLaunchTemplateOutput {
		in.ClientToken = nil // the SDK makes one up: an idempotency token
		awswiretest.Equal(t, "decoded input", in, &ec2.CreateLaunchTemplateInput{
			LaunchTemplateName: "web",
			VersionDescription: ptr("first"),
			LaunchTemplateData: &ec2.RequestLaunchTemplateData{
				ImageId:      ptr("ami-1"),
				InstanceType: ptr("t3.small"),
				UserData:     ptr("IyEvYmluL3NoCmVjaG8gaGk="),
				TagSpecifications: []ec2.LaunchTemplateTagSpecificationRequest{
					{ResourceType: ptr("instance"), Tags: tags},
				},
				MetadataOptions: &ec2.LaunchTemplateInstanceMetadataOptionsRequest{
					HttpTokens:              ptr("required"),
					HttpPutResponseHopLimit: awswiretest.Ptr[int32](2),
					HttpEndpoint:            ptr("enabled"),
				},
			},
			TagSpecifications: []ec2.TagSpecification{{ResourceType: ptr("launch-template"), Tags: tags[:1]}},
		})
		return &ec2.CreateLaunchTemplateOutput{LaunchTemplate: &ec2.LaunchTemplate{
			LaunchTemplateId:     ptr("lt-0abc"),
			LaunchTemplateName:   ptr(in.LaunchTemplateName),
			CreateTime:           &launched,
			CreatedBy:            ptr("arn:aws:iam::123456789012:root"),
			DefaultVersionNumber: awswiretest.Ptr[int64](1),
			LatestVersionNumber:  awswiretest.Ptr[int64](1),
			Tags:                 tags[:1],
		}}
	}))
	sdkTags := []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String("web")}, {Key: aws.String("team"), Value: aws.String("infra")}}
	got, err := c.CreateLaunchTemplate(t.Context(), &sdkec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("web"),
		VersionDescription: aws.String("first"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{
			ImageId:      aws.String("ami-1"),
			InstanceType: ec2types.InstanceTypeT3Small,
			UserData:     aws.String("IyEvYmluL3NoCmVjaG8gaGk="),
			MetadataOptions: &ec2types.LaunchTemplateInstanceMetadataOptionsRequest{
				HttpTokens:              ec2types.LaunchTemplateHttpTokensStateRequired,
				HttpPutResponseHopLimit: aws.Int32(2),
				HttpEndpoint:            ec2types.LaunchTemplateInstanceMetadataEndpointStateEnabled,
			},
			TagSpecifications: []ec2types.LaunchTemplateTagSpecificationRequest{{ResourceType: ec2types.ResourceTypeInstance, Tags: sdkTags}},
		},
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeLaunchTemplate, Tags: sdkTags[:1]}},
	})
	if err != nil {
		t.Fatal(err)
	}
	lt := got.LaunchTemplate
	if aws.ToString(lt.LaunchTemplateId) != "lt-0abc" || aws.ToString(lt.LaunchTemplateName) != "web" ||
		!aws.ToTime(lt.CreateTime).Equal(launched) || aws.ToInt64(lt.DefaultVersionNumber) != 1 ||
		aws.ToInt64(lt.LatestVersionNumber) != 1 || len(lt.Tags) != 1 || aws.ToString(lt.Tags[0].Value) != "web" {
		t.Errorf("launch template: %+v", lt)
	}
}

func TestTheSDKReadsTheEC2ErrorEnvelope(t *testing.T) {
	c := client(t, awswiretest.AnswerError(t, ec2.EncodeError,
		awswire.ClientError("InvalidInstanceID.NotFound"), "The instance ID 'i-9' does not exist"))
	_, err := c.TerminateInstances(t.Context(), &sdkec2.TerminateInstancesInput{InstanceIds: []string{"i-9"}})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidInstanceID.NotFound" ||
		apiErr.ErrorMessage() != "The instance ID 'i-9' does not exist" {
		t.Fatalf("err = %v, want the API error InvalidInstanceID.NotFound", err)
	}
}

func TestAMissingRequiredMemberIsNamed(t *testing.T) {
	_, err := ec2.DecodeCreateLaunchTemplateInput(url.Values{
		"Action":                     {"CreateLaunchTemplate"},
		"LaunchTemplateData.ImageId": {"ami-1"},
	})
	var missing *awswire.MissingParameterError
	if !errors.As(err, &missing) || missing.Param != "LaunchTemplateName" {
		t.Fatalf("err = %v, want LaunchTemplateName missing", err)
	}
}
