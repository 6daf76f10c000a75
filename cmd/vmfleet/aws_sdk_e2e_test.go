package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/vmfleet/vmfleet/pkg/awswire/awswiretest"
)

// sdkConfig is an aws-sdk-go-v2 configuration from what `vmfleet aws
// env` exports, as a program run after `eval "$(vmfleet aws env)"` gets
// it from its environment.
func sdkConfig(t *testing.T, env []string) aws.Config {
	t.Helper()
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	return aws.Config{Region: vars["AWS_DEFAULT_REGION"], BaseEndpoint: aws.String(vars["AWS_ENDPOINT_URL"]), Retryer: awswiretest.Retryer,
		Credentials: credentials.NewStaticCredentialsProvider(vars["AWS_ACCESS_KEY_ID"], vars["AWS_SECRET_ACCESS_KEY"], "")}
}

// The README's flow through aws-sdk-go-v2 on real VMs, with a launch
// lifecycle hook: the group's first instances wait in Pending:Wait until
// their actions are completed (one of them past its heartbeat timeout,
// kept by a heartbeat); the hook changed to a short timeout with
// CONTINUE, the instance a scale-out adds, and those the instance
// refresh launches, go in service by themselves.
func sdkFlow(t *testing.T, e *testEnv) {
	began := time.Now()
	step := func(what string) { t.Logf("%5.1fs %s", time.Since(began).Seconds(), what) }
	ami := amiPattern.FindString(e.must("bake", "--name", "web", "--binary", bin("hello"), "--port", "8080", "--", "/app/hello", "-listen", ":8080"))
	cfg := sdkConfig(t, e.awsEnv())
	ec2c, asg, elb := ec2.NewFromConfig(cfg), autoscaling.NewFromConfig(cfg), elbv2.NewFromConfig(cfg)
	ctx := context.Background()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	must(ec2c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("web"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(ami), InstanceType: ec2types.InstanceTypeT3Micro}}))
	tg, err := elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("web-tg"), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(8080), VpcId: aws.String("vpc-0000000000000f1ee"), HealthCheckPath: aws.String("/healthz"),
		HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2), HealthyThresholdCount: aws.Int32(2)})
	must(tg, err)
	tgARN := tg.TargetGroups[0].TargetGroupArn
	lb, err := elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("web-lb"), Subnets: []string{"subnet-0000000000000f1ee"}})
	must(lb, err)
	must(elb.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(80), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tgARN}}}))
	// 600 s of AWS time: 30 s at the default time scale.
	must(asg.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"),
		LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web")},
		MinSize:        aws.Int32(1), MaxSize: aws.Int32(3), DesiredCapacity: aws.Int32(2), TargetGroupARNs: []string{*tgARN}, HealthCheckType: aws.String("ELB"),
		LifecycleHookSpecificationList: []astypes.LifecycleHookSpecification{{LifecycleHookName: aws.String("setup"),
			LifecycleTransition: aws.String("autoscaling:EC2_INSTANCE_LAUNCHING"), HeartbeatTimeout: aws.Int32(600), DefaultResult: aws.String("ABANDON")}}}))
	held := e.sdkStates(asg, 2, "Pending:Wait", 3*time.Minute)
	heldSince := time.Now()
	step("both instances wait in Pending:Wait")
	health, err := elb.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: tgARN})
	if err != nil || len(health.TargetHealthDescriptions) != 0 {
		t.Fatalf("targets of instances in Pending:Wait: %+v, %v; want none", health, err)
	}
	action := func(id string) *autoscaling.CompleteLifecycleActionInput {
		return &autoscaling.CompleteLifecycleActionInput{AutoScalingGroupName: aws.String("web"), LifecycleHookName: aws.String("setup"),
			InstanceId: aws.String(id), LifecycleActionResult: aws.String("CONTINUE")}
	}
	must(asg.CompleteLifecycleAction(ctx, action(held[0])))
	time.Sleep(time.Until(heldSince.Add(15 * time.Second)))
	must(asg.RecordLifecycleActionHeartbeat(ctx, &autoscaling.RecordLifecycleActionHeartbeatInput{AutoScalingGroupName: aws.String("web"),
		LifecycleHookName: aws.String("setup"), InstanceId: aws.String(held[1])}))
	// Past the 30 s it had without the heartbeat (whose 30 s run to 45).
	time.Sleep(time.Until(heldSince.Add(35 * time.Second)))
	if s := e.sdkStateOf(asg, held[1]); s != "Pending:Wait" {
		t.Fatalf("%s 35 s into a 30 s wait renewed at 15 s is %q, want Pending:Wait", held[1], s)
	}
	step("the heartbeat kept the second instance waiting")
	must(asg.CompleteLifecycleAction(ctx, action(held[1])))
	w := elbv2.NewTargetInServiceWaiter(elb, func(o *elbv2.TargetInServiceWaiterOptions) { o.MinDelay, o.MaxDelay = time.Second, 2*time.Second })
	if err := w.Wait(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: tgARN}, 3*time.Minute); err != nil {
		t.Fatalf("target-in-service: %v", err)
	}
	step("the group of 2 is in service")
	dns := aws.ToString(lb.LoadBalancers[0].DNSName)
	resp, err := http.Get("http://" + dns + "/")
	if err != nil {
		t.Fatalf("through the DNSName %s: %v", dns, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "hello from web instance i-") {
		t.Fatalf("through the load balancer: %q", body)
	}

	// The least heartbeat timeout, 30 s (1.5 s here), and CONTINUE: the
	// instance a scale-out adds is not held for long.
	must(asg.PutLifecycleHook(ctx, &autoscaling.PutLifecycleHookInput{AutoScalingGroupName: aws.String("web"), LifecycleHookName: aws.String("setup"),
		HeartbeatTimeout: aws.Int32(30), DefaultResult: aws.String("CONTINUE")}))
	must(asg.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("web"), DesiredCapacity: aws.Int32(3)}))
	e.sdkStates(asg, 3, "InService", 3*time.Minute)
	if ev := e.must("events", "--fleet", "web"); !strings.Contains(ev, "hook setup timed out: CONTINUE") {
		t.Fatalf("no timeout of the third instance's action in the events:\n%s", ev)
	}
	step("the third instance went in service when its action timed out")

	// A target tracking policy (off again before the refresh, whose boots
	// it would scale on), then a new version rolled out by an instance
	// refresh at 50 % min healthy, requests through the load balancer
	// meanwhile, none failing; each new instance passes the hook.
	must(asg.PutScalingPolicy(ctx, &autoscaling.PutScalingPolicyInput{AutoScalingGroupName: aws.String("web"), PolicyName: aws.String("cpu50"),
		PolicyType: aws.String("TargetTrackingScaling"), TargetTrackingConfiguration: &astypes.TargetTrackingConfiguration{
			PredefinedMetricSpecification: &astypes.PredefinedMetricSpecification{PredefinedMetricType: astypes.MetricTypeASGAverageCPUUtilization},
			TargetValue:                   aws.Float64(50)}}))
	pols, err := asg.DescribePolicies(ctx, &autoscaling.DescribePoliciesInput{AutoScalingGroupName: aws.String("web")})
	if err != nil || len(pols.ScalingPolicies) != 1 || aws.ToString(pols.ScalingPolicies[0].PolicyName) != "cpu50" {
		t.Fatalf("policies: %+v, %v", pols, err)
	}
	must(asg.DeletePolicy(ctx, &autoscaling.DeletePolicyInput{AutoScalingGroupName: aws.String("web"), PolicyName: aws.String("cpu50")}))
	must(ec2c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateName: aws.String("web"), SourceVersion: aws.String("1"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{InstanceType: ec2types.InstanceTypeT3Small}}))
	load := e.loadThrough("http://" + dns + "/")
	refresh, err := asg.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("web"),
		Preferences: &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(50)},
		DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{
			LaunchTemplateName: aws.String("web"), Version: aws.String("$Latest")}}})
	must(refresh, err)
	e.waitFor("the instance refresh to succeed", 5*time.Minute, func() bool {
		out, err := asg.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String("web"),
			InstanceRefreshIds: []string{aws.ToString(refresh.InstanceRefreshId)}})
		return err == nil && len(out.InstanceRefreshes) == 1 && out.InstanceRefreshes[0].Status == astypes.InstanceRefreshStatusSuccessful
	})
	if sent, failed := load(); sent == 0 || failed != 0 {
		t.Errorf("%d of %d requests through the load balancer failed during the instance refresh", failed, sent)
	}
	after, err := asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web"}})
	must(after, err)
	for _, i := range after.AutoScalingGroups[0].Instances {
		if aws.ToString(i.LaunchTemplate.Version) != "2" || i.LifecycleState != astypes.LifecycleStateInService {
			t.Errorf("after the refresh %s is on version %s, %s", aws.ToString(i.InstanceId), aws.ToString(i.LaunchTemplate.Version), i.LifecycleState)
		}
	}
	step("the refresh succeeded")

	must(asg.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"), ForceDelete: aws.Bool(true)}))
	must(elb.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn}))
	must(elb.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: tgARN}))
	must(ec2c.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String("web")}))
	groups, err := asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil || len(groups.AutoScalingGroups) != 0 {
		t.Fatalf("groups left: %+v, %v", groups, err)
	}
	e.assertNothingLeft()
	step("nothing is left")
}

// sdkStates waits until the group web has n instances, all in state,
// and returns their ids.
func (e *testEnv) sdkStates(asg *autoscaling.Client, n int, state string, limit time.Duration) []string {
	e.t.Helper()
	var ids []string
	e.waitFor(state, limit, func() bool {
		out, err := asg.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web"}})
		if err != nil {
			e.t.Fatal(err)
		}
		ids = ids[:0]
		all := 0
		for _, g := range out.AutoScalingGroups {
			for _, i := range g.Instances {
				all++
				if string(i.LifecycleState) == state {
					ids = append(ids, aws.ToString(i.InstanceId))
				}
			}
		}
		return len(ids) == n && all == n
	})
	slices.Sort(ids)
	return ids
}

// sdkStateOf is instance id's lifecycle state.
func (e *testEnv) sdkStateOf(asg *autoscaling.Client, id string) string {
	e.t.Helper()
	out, err := asg.DescribeAutoScalingInstances(context.Background(), &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{id}})
	if err != nil || len(out.AutoScalingInstances) != 1 {
		e.t.Fatalf("describe %s: %+v, %v", id, out, err)
	}
	return aws.ToString(out.AutoScalingInstances[0].LifecycleState)
}
