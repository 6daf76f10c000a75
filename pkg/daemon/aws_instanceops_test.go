package daemon

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
)

// desired is the group's desired capacity as described.
func (c awsClients) desired(t *testing.T, group string) int32 {
	t.Helper()
	out, err := c.asg.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	if err != nil || len(out.AutoScalingGroups) != 1 {
		t.Fatalf("describe %s: %+v, %v", group, out, err)
	}
	return aws.ToInt32(out.AutoScalingGroups[0].DesiredCapacity)
}

func TestAGroupsInstancesAreTerminatedSetUnhealthyAndPutInStandbyThroughTheAPI(t *testing.T) {
	td := newTestDaemon(t)
	c := td.aws()
	ctx := context.Background()
	tgARN, _ := c.webBehindBalancer(t, td)
	c.webGroup(t, tgARN, 2, func(in *autoscaling.CreateAutoScalingGroupInput) { in.MaxSize = aws.Int32(3) })
	c.healthy(t, tgARN, 2)
	ids := c.lifecycleState(t, "web", 2, "InService")

	// Terminated with decrement: the group shrinks, nothing replaces it.
	out, err := c.asg.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{InstanceId: aws.String(ids[0]),
		ShouldDecrementDesiredCapacity: aws.Bool(true)})
	if err != nil || out.Activity == nil || aws.ToString(out.Activity.Description) != "Terminating EC2 instance: "+ids[0] {
		t.Fatalf("terminate: %+v, %v", out, err)
	}
	if left := c.lifecycleState(t, "web", 1, "InService"); left[0] != ids[1] || c.desired(t, "web") != 1 {
		t.Fatalf("after terminating %s with decrement: %v in service, desired %d; want only %s, desired 1", ids[0], left, c.desired(t, "web"), ids[1])
	}
	_, err = c.asg.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{InstanceId: aws.String(ids[1]),
		ShouldDecrementDesiredCapacity: aws.Bool(true)})
	wantAWSCode(t, err, "ValidationError") // below min 1

	// In standby: still running, out of the count; a replacement launches.
	if _, err := c.asg.EnterStandby(ctx, &autoscaling.EnterStandbyInput{AutoScalingGroupName: aws.String("web"), InstanceIds: []string{ids[1]},
		ShouldDecrementDesiredCapacity: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	c.healthy(t, tgARN, 1)
	if got := c.lifecycleStates(t); got[ids[1]] != "Standby" || len(got) != 2 {
		t.Fatalf("states %v; want %s in Standby beside its replacement", got, ids[1])
	}
	_, err = c.asg.EnterStandby(ctx, &autoscaling.EnterStandbyInput{AutoScalingGroupName: aws.String("web"), InstanceIds: []string{ids[1]},
		ShouldDecrementDesiredCapacity: aws.Bool(false)})
	wantAWSCode(t, err, "ValidationError") // not in service
	// Standby is the instance's own, kept in its domain's metadata: a
	// restarted daemon leaves it in standby, out of the balancer.
	td.restart()
	c = td.aws()
	c.healthy(t, tgARN, 1)
	if got := c.lifecycleStates(t); got[ids[1]] != "Standby" || len(got) != 2 {
		t.Fatalf("states after a restart %v; want %s still in Standby beside its replacement", got, ids[1])
	}
	if _, err := c.asg.ExitStandby(ctx, &autoscaling.ExitStandbyInput{AutoScalingGroupName: aws.String("web"), InstanceIds: []string{ids[1]}}); err != nil {
		t.Fatal(err)
	}
	c.healthy(t, tgARN, 2)
	if c.desired(t, "web") != 2 {
		t.Fatalf("desired %d after ExitStandby, want 2", c.desired(t, "web"))
	}

	// Set unhealthy: replaced.
	if _, err := c.asg.SetInstanceHealth(ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String(ids[1]), HealthStatus: aws.String("Unhealthy")}); err != nil {
		t.Fatal(err)
	}
	now := c.lifecycleState(t, "web", 2, "InService")
	if slices.Contains(now, ids[1]) {
		t.Fatalf("%s set unhealthy is still in service: %v", ids[1], now)
	}
	for name, call := range map[string]func() error{
		"an unknown health status": func() error {
			_, err := c.asg.SetInstanceHealth(ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String(now[0]), HealthStatus: aws.String("Sick")})
			return err
		},
		"an instance of no group": func() error {
			_, err := c.asg.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{InstanceId: aws.String("i-0000000000000000"),
				ShouldDecrementDesiredCapacity: aws.Bool(false)})
			return err
		},
		"standby above max": func() error {
			_, err := c.asg.ExitStandby(ctx, &autoscaling.ExitStandbyInput{AutoScalingGroupName: aws.String("web"), InstanceIds: []string{now[0]}})
			return err
		},
	} {
		err := call()
		t.Run(name, func(t *testing.T) { wantAWSCode(t, err, "ValidationError") })
	}
}

// lifecycleStates is every instance's lifecycle state, by id.
func (c awsClients) lifecycleStates(t *testing.T) map[string]string {
	t.Helper()
	out, err := c.asg.DescribeAutoScalingInstances(context.Background(), &autoscaling.DescribeAutoScalingInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, i := range out.AutoScalingInstances {
		m[aws.ToString(i.InstanceId)] = aws.ToString(i.LifecycleState)
	}
	return m
}
