package daemon

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/vmfleet/vmfleet/pkg/limits"
)

// lifecycleState waits until group's instances are n, all in state, and
// returns their ids.
func (c awsClients) lifecycleState(t *testing.T, group string, n int, state string) []string {
	t.Helper()
	var last []astypes.AutoScalingInstanceDetails
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		out, err := c.asg.DescribeAutoScalingInstances(context.Background(), &autoscaling.DescribeAutoScalingInstancesInput{})
		if err != nil {
			t.Fatal(err)
		}
		last = out.AutoScalingInstances
		var ids []string
		for _, i := range last {
			if aws.ToString(i.AutoScalingGroupName) == group && aws.ToString(i.LifecycleState) == state {
				ids = append(ids, aws.ToString(i.InstanceId))
			}
		}
		if len(ids) == n && len(last) == n {
			return ids
		}
	}
	t.Fatalf("never %d instances of %s in %s; last %+v", n, group, state, last)
	return nil
}

func TestALifecycleHookHoldsAnInstanceOfAnAPIGroupUntilItsActionIsCompleted(t *testing.T) {
	td := newTestDaemon(t)
	c := td.aws()
	ctx := context.Background()
	tgARN, addr := c.webBehindBalancer(t, td)
	c.webGroup(t, tgARN, 1, func(in *autoscaling.CreateAutoScalingGroupInput) {
		in.MinSize, in.MaxSize = aws.Int32(0), aws.Int32(2)
		in.LifecycleHookSpecificationList = []astypes.LifecycleHookSpecification{{LifecycleHookName: aws.String("setup"),
			LifecycleTransition: aws.String("autoscaling:EC2_INSTANCE_LAUNCHING"), HeartbeatTimeout: aws.Int32(60), NotificationMetadata: aws.String("web")}}
	})
	// Its periods run at the default time scale, as a fleet file's that
	// sets none: the hour a hook waits by default is 3 minutes.
	if fs := td.d.Fleets(); len(fs) != 1 || fs[0].TimeScale != limits.DefaultTimeScale {
		t.Errorf("fleets %+v; want the group's at time scale %g", fs, limits.DefaultTimeScale)
	}
	hooks, err := c.asg.DescribeLifecycleHooks(ctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: aws.String("web")})
	if err != nil || len(hooks.LifecycleHooks) != 1 {
		t.Fatalf("hooks %+v, %v", hooks, err)
	}
	if h := hooks.LifecycleHooks[0]; aws.ToInt32(h.HeartbeatTimeout) != 60 || aws.ToInt32(h.GlobalTimeout) != 6000 ||
		aws.ToString(h.DefaultResult) != "ABANDON" || aws.ToString(h.NotificationMetadata) != "web" {
		t.Errorf("hook described as %+v; want heartbeat 60, global 6000, ABANDON by default, its metadata", h)
	}
	id := c.lifecycleState(t, "web", 1, "Pending:Wait")[0]
	if resp, err := http.Get("http://" + addr + "/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("the balancer routes to an instance in Pending:Wait")
		}
	}

	action := func(hook, instance string) *autoscaling.CompleteLifecycleActionInput {
		return &autoscaling.CompleteLifecycleActionInput{AutoScalingGroupName: aws.String("web"), LifecycleHookName: aws.String(hook),
			InstanceId: aws.String(instance), LifecycleActionResult: aws.String("CONTINUE")}
	}
	for name, in := range map[string]*autoscaling.CompleteLifecycleActionInput{
		"another instance": action("setup", "i-0000000000000000"),
		"another hook":     action("other", id),
		"a bad result": func() *autoscaling.CompleteLifecycleActionInput {
			in := action("setup", id)
			in.LifecycleActionResult = aws.String("GO")
			return in
		}(),
		"no instance or token": func() *autoscaling.CompleteLifecycleActionInput {
			in := action("setup", id)
			in.InstanceId = nil
			return in
		}(),
		"another group": func() *autoscaling.CompleteLifecycleActionInput {
			in := action("setup", id)
			in.AutoScalingGroupName = aws.String("nope")
			return in
		}(),
	} {
		_, err := c.asg.CompleteLifecycleAction(ctx, in)
		t.Run(name, func(t *testing.T) { wantAWSCode(t, err, "ValidationError") })
	}
	c.lifecycleState(t, "web", 1, "Pending:Wait")
	if _, err := c.asg.RecordLifecycleActionHeartbeat(ctx, &autoscaling.RecordLifecycleActionHeartbeatInput{AutoScalingGroupName: aws.String("web"),
		LifecycleHookName: aws.String("setup"), InstanceId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	// The action is the instance's, kept in its domain: a restarted
	// daemon holds it still, out of the balancer.
	td.restart()
	c = td.aws()
	if got := c.lifecycleState(t, "web", 1, "Pending:Wait")[0]; got != id {
		t.Fatalf("after a restart %s is in Pending:Wait, want %s", got, id)
	}
	if resp, err := http.Get("http://" + addr + "/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("after a restart the balancer routes to an instance in Pending:Wait")
		}
	}
	if _, err := c.asg.CompleteLifecycleAction(ctx, action("setup", id)); err != nil {
		t.Fatal(err)
	}
	c.healthy(t, tgARN, 1)
	resp, err := http.Get("http://" + addr + "/")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("through the balancer once the action is completed: %v %v", resp, err)
	}
	resp.Body.Close()

	// A termination hook holds a scaled-in instance until the hook goes:
	// deleting a hook continues what it held.
	if _, err := c.asg.PutLifecycleHook(ctx, &autoscaling.PutLifecycleHookInput{AutoScalingGroupName: aws.String("web"), LifecycleHookName: aws.String("drain"),
		LifecycleTransition: aws.String("autoscaling:EC2_INSTANCE_TERMINATING"), DefaultResult: aws.String("CONTINUE")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.asg.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("web"), DesiredCapacity: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	c.lifecycleState(t, "web", 1, "Terminating:Wait")
	td.restart()
	c = td.aws()
	c.lifecycleState(t, "web", 1, "Terminating:Wait")
	if _, err := c.asg.DeleteLifecycleHook(ctx, &autoscaling.DeleteLifecycleHookInput{AutoScalingGroupName: aws.String("web"), LifecycleHookName: aws.String("drain")}); err != nil {
		t.Fatal(err)
	}
	c.lifecycleState(t, "web", 0, "")
	_, err = c.asg.DeleteLifecycleHook(ctx, &autoscaling.DeleteLifecycleHookInput{AutoScalingGroupName: aws.String("web"), LifecycleHookName: aws.String("drain")})
	wantAWSCode(t, err, "ValidationError")
	for name, in := range map[string]*autoscaling.PutLifecycleHookInput{
		"a new hook without a transition": {AutoScalingGroupName: aws.String("web"), LifecycleHookName: aws.String("x")},
		"a heartbeat over 7200 s": {AutoScalingGroupName: aws.String("web"), LifecycleHookName: aws.String("x"),
			LifecycleTransition: aws.String("autoscaling:EC2_INSTANCE_LAUNCHING"), HeartbeatTimeout: aws.Int32(7201)},
		"an unknown default result": {AutoScalingGroupName: aws.String("web"), LifecycleHookName: aws.String("x"),
			LifecycleTransition: aws.String("autoscaling:EC2_INSTANCE_LAUNCHING"), DefaultResult: aws.String("MAYBE")},
		"a name with a space": {AutoScalingGroupName: aws.String("web"), LifecycleHookName: aws.String("x y"),
			LifecycleTransition: aws.String("autoscaling:EC2_INSTANCE_LAUNCHING")},
	} {
		_, err := c.asg.PutLifecycleHook(ctx, in)
		t.Run(name, func(t *testing.T) { wantAWSCode(t, err, "ValidationError") })
	}
	hooks, err = c.asg.DescribeLifecycleHooks(ctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: aws.String("web")})
	if err != nil || len(hooks.LifecycleHooks) != 1 {
		t.Fatalf("after the bad puts: %+v, %v; want the one hook setup", hooks, err)
	}
}
