package daemon

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// versions waits until group has n instances in service and returns
// their launch template versions, sorted.
func (c awsClients) versions(t *testing.T, group string, n int) []string {
	t.Helper()
	var got []string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		out, err := c.asg.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
		if err != nil || len(out.AutoScalingGroups) != 1 {
			t.Fatalf("describe %s: %+v, %v", group, out, err)
		}
		got = got[:0]
		for _, i := range out.AutoScalingGroups[0].Instances {
			if i.LifecycleState == astypes.LifecycleStateInService {
				got = append(got, aws.ToString(i.LaunchTemplate.Version))
			}
		}
		if len(got) == n && len(out.AutoScalingGroups[0].Instances) == n {
			slices.Sort(got)
			return got
		}
	}
	t.Fatalf("never %d instances of %s in service; last versions %v; states %v", n, group, got, c.lifecycleStates(t))
	return nil
}

// A group given $Latest or $Default launches from whichever version that
// is at each launch, as Auto Scaling resolves them; the instances running
// keep theirs until a refresh.
func TestAGroupFollowsItsLaunchTemplatesLatestOrDefaultVersionForItsNextLaunches(t *testing.T) {
	td := newTestDaemon(t)
	c := td.aws()
	ctx := context.Background()
	c.webBehindBalancer(t, td)
	for name, version := range map[string]*string{"latest": aws.String("$Latest"), "default": nil} {
		if _, err := c.asg.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String(name),
			LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web"), Version: version},
			MinSize:        aws.Int32(0), MaxSize: aws.Int32(3), DesiredCapacity: aws.Int32(1)}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := c.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"default", "latest"}})
	if err != nil || len(out.AutoScalingGroups) != 2 || aws.ToString(out.AutoScalingGroups[0].LaunchTemplate.Version) != "$Default" ||
		aws.ToString(out.AutoScalingGroups[1].LaunchTemplate.Version) != "$Latest" {
		t.Fatalf("groups %+v, %v; want default on $Default, latest on $Latest", out, err)
	}
	c.versions(t, "latest", 1)
	c.versions(t, "default", 1)

	if _, err := c.ec2.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateName: aws.String("web"),
		SourceVersion: aws.String("1"), LaunchTemplateData: &ec2types.RequestLaunchTemplateData{InstanceType: ec2types.InstanceTypeT3Small}}); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"latest", "default"} {
		if _, err := c.asg.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String(g), DesiredCapacity: aws.Int32(2)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.versions(t, "latest", 2); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("$Latest group after version 2 and a scale-out: versions %v, want its first instance kept on 1 and the new one on 2", got)
	}
	if got := c.versions(t, "default", 2); !slices.Equal(got, []string{"1", "1"}) {
		t.Errorf("$Default group after version 2 (not the default) and a scale-out: versions %v, want both on 1", got)
	}

	if _, err := c.ec2.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateName: aws.String("web"), DefaultVersion: aws.String("2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.asg.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("default"), DesiredCapacity: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	if got := c.versions(t, "default", 3); !slices.Equal(got, []string{"1", "1", "2"}) {
		t.Errorf("$Default group once 2 is the default, scaled out: versions %v, want 1, 1 kept and 2", got)
	}
}
