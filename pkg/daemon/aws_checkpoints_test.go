package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// An instance refresh with checkpoints waits at each for the checkpoint
// delay (40 s of AWS time, 2 s at the default time scale), replacing
// nothing meanwhile, then goes on to the end.
func TestAnInstanceRefreshWaitsAtItsCheckpoints(t *testing.T) {
	td := newTestDaemon(t)
	c := td.aws()
	ctx := context.Background()
	tgARN, _ := c.webBehindBalancer(t, td)
	c.webGroup(t, tgARN, 4, nil)
	c.healthy(t, tgARN, 4)
	if _, err := c.ec2.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateName: aws.String("web"),
		SourceVersion: aws.String("1"), LaunchTemplateData: &ec2types.RequestLaunchTemplateData{InstanceType: "t3.small"}}); err != nil {
		t.Fatal(err)
	}
	start := func(pcts []int32, delay *int32) (*autoscaling.StartInstanceRefreshOutput, error) {
		return c.asg.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("web"),
			Preferences: &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(50), CheckpointPercentages: pcts, CheckpointDelay: delay},
			DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{
				LaunchTemplateName: aws.String("web"), Version: aws.String("$Latest")}}})
	}
	for name, bad := range map[string]struct {
		pcts  []int32
		delay *int32
	}{
		"not ending at 100": {[]int32{50}, nil},
		"not rising":        {[]int32{60, 40, 100}, nil},
		"a delay alone":     {nil, aws.Int32(60)},
		"a delay too long":  {[]int32{100}, aws.Int32(172801)},
	} {
		_, err := start(bad.pcts, bad.delay)
		t.Run(name, func(t *testing.T) { wantAWSCode(t, err, "ValidationError") })
	}

	out, err := start([]int32{50, 100}, aws.Int32(40))
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.InstanceRefreshId)
	var at astypes.InstanceRefresh
	for deadline := time.Now().Add(30 * time.Second); at.StatusReason == nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the refresh never waited at its checkpoint; last %+v", at)
		}
		r, err := c.asg.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String("web")})
		if err != nil {
			t.Fatal(err)
		}
		at = r.InstanceRefreshes[0]
	}
	pct := aws.ToInt32(at.PercentageComplete)
	if at.Status != astypes.InstanceRefreshStatusInProgress || pct < 50 || pct >= 100 || len(at.Preferences.CheckpointPercentages) != 2 {
		t.Fatalf("at the checkpoint: %s, %d %%, preferences %+v; want InProgress between 50 and 100 %%", at.Status, pct, at.Preferences)
	}
	// A second of the two: nothing more is replaced.
	time.Sleep(time.Second)
	r, err := c.asg.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String("web")})
	if err != nil || aws.ToInt32(r.InstanceRefreshes[0].PercentageComplete) != pct {
		t.Fatalf("a second into the checkpoint delay: %+v, %v; want still %d %%", r, err, pct)
	}
	c.refreshEnds(t, id, astypes.InstanceRefreshStatusSuccessful)
	c.onVersion(t, "2", 4)
}
