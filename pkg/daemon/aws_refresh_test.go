package daemon

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// An instance refresh at 50 % min healthy replaces every instance with
// one of the new launch template version, and the balancer answers every
// request meanwhile; a second refresh while one runs is refused, and so
// are a rollback and a cancel once it has ended (as AWS's).
func TestAnInstanceRefreshReplacesEveryInstanceAndLosesNoRequest(t *testing.T) {
	td := newTestDaemon(t)
	c := td.aws()
	ctx := context.Background()
	tgARN, addr := c.webBehindBalancer(t, td)
	c.webGroup(t, tgARN, 3, nil)
	c.healthy(t, tgARN, 3)
	// A request in flight on an instance taken away finishes within the
	// deregistration delay (20 s, 1 s at the default time scale).
	if _, err := c.elb.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(tgARN),
		Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("20")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ec2.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateName: aws.String("web"),
		SourceVersion: aws.String("1"), LaunchTemplateData: &ec2types.RequestLaunchTemplateData{InstanceType: "t3.small"}}); err != nil {
		t.Fatal(err)
	}

	sent, failed, stop := c.requests(addr)
	started, err := c.asg.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("web"),
		DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web"), Version: aws.String("$Latest")}},
		Preferences:          &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(50)}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.asg.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("web")})
	wantAWSCode(t, err, "InstanceRefreshInProgress")
	c.refreshEnds(t, aws.ToString(started.InstanceRefreshId), astypes.InstanceRefreshStatusSuccessful)
	stop()
	if sent.Load() == 0 || failed.Load() != 0 {
		t.Errorf("%d of %d requests failed during the refresh", failed.Load(), sent.Load())
	}
	c.onVersion(t, "2", 3)

	_, err = c.asg.RollbackInstanceRefresh(ctx, &autoscaling.RollbackInstanceRefreshInput{AutoScalingGroupName: aws.String("web")})
	wantAWSCode(t, err, "ActiveInstanceRefreshNotFound")
	_, err = c.asg.CancelInstanceRefresh(ctx, &autoscaling.CancelInstanceRefreshInput{AutoScalingGroupName: aws.String("web")})
	wantAWSCode(t, err, "ActiveInstanceRefreshNotFound")
}

// requests sends requests through the balancer at addr until stop, in a
// bounded loop, counting those sent and those that failed.
func (c awsClients) requests(addr string) (sent, failed *atomic.Int64, stop func()) {
	sent, failed = new(atomic.Int64), new(atomic.Int64)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		client := &http.Client{Timeout: 5 * time.Second}
		for i := 0; i < 100000; i++ {
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			sent.Add(1)
			resp, err := client.Get("http://" + addr + "/")
			if err != nil || resp.StatusCode != 200 {
				failed.Add(1)
			}
			if resp != nil {
				resp.Body.Close()
			}
		}
	}()
	return sent, failed, func() { close(done); wg.Wait() }
}

// refreshEnds waits until the refresh has the status.
func (c awsClients) refreshEnds(t *testing.T, id string, status astypes.InstanceRefreshStatus) {
	t.Helper()
	var last []astypes.InstanceRefresh
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		out, err := c.asg.DescribeInstanceRefreshes(context.Background(), &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String("web")})
		if err != nil {
			t.Fatal(err)
		}
		last = out.InstanceRefreshes
		if len(last) == 1 && aws.ToString(last[0].InstanceRefreshId) == id && last[0].Status == status {
			if aws.ToInt32(last[0].PercentageComplete) != 100 {
				t.Errorf("%s at %d %%", status, aws.ToInt32(last[0].PercentageComplete))
			}
			return
		}
	}
	groups, _ := c.asg.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web"}})
	var seen []string
	for _, i := range groups.AutoScalingGroups[0].Instances {
		seen = append(seen, aws.ToString(i.InstanceId)+"@"+aws.ToString(i.LaunchTemplate.Version)+":"+string(i.LifecycleState))
	}
	t.Fatalf("refresh %s never %s (at %d %%); instances %v", id, status, aws.ToInt32(last[0].PercentageComplete), seen)
}

// onVersion checks that the group's n instances are all on the version.
func (c awsClients) onVersion(t *testing.T, version string, n int) {
	t.Helper()
	out, err := c.asg.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	insts := out.AutoScalingGroups[0].Instances
	if len(insts) != n {
		t.Fatalf("%d instances, want %d: %+v", len(insts), n, insts)
	}
	for _, i := range insts {
		if aws.ToString(i.LaunchTemplate.Version) != version || i.LifecycleState != astypes.LifecycleStateInService {
			t.Errorf("instance %s: version %s, %s; want %s, InService", aws.ToString(i.InstanceId), aws.ToString(i.LaunchTemplate.Version), i.LifecycleState, version)
		}
	}
}
