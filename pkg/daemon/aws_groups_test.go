package daemon

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
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
	"github.com/aws/smithy-go"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awswire/awswiretest"
)

// awsClients are SDK clients of a test daemon's AWS endpoint.
type awsClients struct {
	ec2 *ec2.Client
	asg *autoscaling.Client
	elb *elbv2.Client
	url string     // the endpoint's, for other clients
	cfg aws.Config // theirs
}

func (td *testDaemon) aws() awsClients {
	td.t.Helper()
	td.d.cfg.AWS = api.AWSEndpoint{Region: "us-east-1", Account: "000000000000", Credentials: "any"}
	srv := httptest.NewServer(td.d.AWSHandler())
	td.t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Retryer: awswiretest.Retryer,
		Credentials: credentials.NewStaticCredentialsProvider("AKIATEST", "secret", "")}
	return awsClients{ec2: ec2.NewFromConfig(cfg), asg: autoscaling.NewFromConfig(cfg), elb: elbv2.NewFromConfig(cfg), url: srv.URL, cfg: cfg}
}

func wantAWSCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("got %v, want %s", err, code)
	}
}

// freePort is a port free on addr now.
func freePort(t *testing.T, addr string) int32 {
	t.Helper()
	ln, err := net.Listen("tcp", addr+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

// webBehindBalancer makes, through the SDK, what the README's flow makes
// before its group: a launch template of a baked image, a target group,
// a load balancer and its listener. It returns the target group's ARN
// and the balancer's address.
func (c awsClients) webBehindBalancer(t *testing.T, td *testDaemon) (string, string) {
	t.Helper()
	ctx := context.Background()
	baked, err := td.d.Bake(ctx, api.BakeRequest{Name: "web", Binary: "/bin/busybox", Port: 8080, Command: []string{"/app/busybox"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ec2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("web"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(baked.Image.ImageID), InstanceType: "t3.micro"}}); err != nil {
		t.Fatal(err)
	}
	tg, err := c.elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("web-tg"), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(8080), VpcId: aws.String("vpc-0000000000000f1ee"), HealthCheckIntervalSeconds: aws.Int32(5),
		HealthCheckTimeoutSeconds: aws.Int32(2), HealthyThresholdCount: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	tgARN := aws.ToString(tg.TargetGroups[0].TargetGroupArn)
	// Instances leave at once, not after ALB's 300 s.
	if _, err := c.elb.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(tgARN),
		Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("0")}}}); err != nil {
		t.Fatal(err)
	}
	attrs, err := c.elb.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(tgARN)})
	if err != nil || !slices.ContainsFunc(attrs.Attributes, func(a elbtypes.TargetGroupAttribute) bool {
		return aws.ToString(a.Key) == "deregistration_delay.timeout_seconds" && aws.ToString(a.Value) == "0"
	}) {
		t.Fatalf("attributes %+v, %v", attrs, err)
	}
	lb, err := c.elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("web-lb")})
	if err != nil {
		t.Fatal(err)
	}
	dns := aws.ToString(lb.LoadBalancers[0].DNSName)
	port := freePort(t, dns)
	if _, err := c.elb.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn,
		Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(port),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tgARN)}}}); err != nil {
		t.Fatal(err)
	}
	return tgARN, net.JoinHostPort(dns, strconv.Itoa(int(port)))
}

// healthy waits until the target group has n healthy targets.
// webGroup makes group web of launch template web behind target group
// tgARN, with ELB health checks, 1 to 4 instances and desired of them, as
// edit changes that.
func (c awsClients) webGroup(t *testing.T, tgARN string, desired int32, edit func(*autoscaling.CreateAutoScalingGroupInput)) {
	t.Helper()
	in := &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"),
		LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web")},
		MinSize:        aws.Int32(1), MaxSize: aws.Int32(4), DesiredCapacity: aws.Int32(desired), TargetGroupARNs: []string{tgARN},
		HealthCheckType: aws.String("ELB")}
	if edit != nil {
		edit(in)
	}
	if _, err := c.asg.CreateAutoScalingGroup(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

func (c awsClients) healthy(t *testing.T, tgARN string, n int) {
	t.Helper()
	var last []elbtypes.TargetHealthDescription
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		out, err := c.elb.DescribeTargetHealth(context.Background(), &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgARN)})
		if err != nil {
			t.Fatal(err)
		}
		last = out.TargetHealthDescriptions
		ok := 0
		for _, d := range last {
			if d.TargetHealth.State == elbtypes.TargetHealthStateEnumHealthy {
				ok++
			}
		}
		if ok == n && len(last) == n {
			return
		}
	}
	t.Fatalf("never %d healthy targets; last %+v", n, last)
}

func TestAGroupMadeThroughTheAPIRunsBehindItsLoadBalancerAndGoesWithForceDelete(t *testing.T) {
	td := newTestDaemon(t)
	c := td.aws()
	ctx := context.Background()
	tgARN, addr := c.webBehindBalancer(t, td)
	_, err := c.asg.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"),
		LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web")},
		MinSize:        aws.Int32(1), MaxSize: aws.Int32(4), DesiredCapacity: aws.Int32(2), TargetGroupARNs: []string{tgARN},
		HealthCheckType: aws.String("ELB"), Tags: []astypes.Tag{
			{Key: aws.String("team"), Value: aws.String("shop"), PropagateAtLaunch: aws.Bool(true)},
			{Key: aws.String("cost"), Value: aws.String("none"), PropagateAtLaunch: aws.Bool(false)}}})
	if err != nil {
		t.Fatal(err)
	}
	c.healthy(t, tgARN, 2)
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// An idle connection would hold the balancer's drain at the restart.
	http.DefaultClient.CloseIdleConnections()
	if !strings.HasPrefix(string(body), "hello from i-") {
		t.Fatalf("through the load balancer: %q", body)
	}

	// vmfleet sees it as a fleet of its one group.
	if fs := td.d.Fleets(); len(fs) != 1 || fs[0].Name != "web" {
		t.Fatalf("fleets %+v", fs)
	}
	if _, err := c.asg.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("web"), DesiredCapacity: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	c.healthy(t, tgARN, 3)
	groups, err := c.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web"}})
	if err != nil || len(groups.AutoScalingGroups) != 1 {
		t.Fatalf("%+v %v", groups, err)
	}
	g := groups.AutoScalingGroups[0]
	if aws.ToInt32(g.DesiredCapacity) != 3 || len(g.Instances) != 3 || g.TargetGroupARNs[0] != tgARN || aws.ToString(g.LaunchTemplate.Version) != "$Default" {
		t.Fatalf("group %+v", g)
	}
	for _, i := range g.Instances {
		if i.LifecycleState != astypes.LifecycleStateInService || aws.ToString(i.HealthStatus) != "Healthy" || aws.ToString(i.InstanceType) != "t3.micro" {
			t.Errorf("instance %s: %s %s %s", aws.ToString(i.InstanceId), i.LifecycleState, aws.ToString(i.HealthStatus), aws.ToString(i.InstanceType))
		}
	}

	acts, err := c.asg.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("web")})
	if err != nil || len(acts.Activities) != 3 {
		t.Fatalf("activities %+v, %v", acts, err)
	}
	if newest := acts.Activities[0]; newest.StatusCode != astypes.ScalingActivityStatusCodeSuccessful ||
		!strings.HasPrefix(aws.ToString(newest.Description), "Launching a new EC2 instance: i-") ||
		!strings.Contains(aws.ToString(newest.Cause), "changed the desired capacity from 2 to 3") {
		t.Errorf("the newest activity: %s / %s", aws.ToString(newest.Description), aws.ToString(newest.Cause))
	}
	if oldest := acts.Activities[2]; !strings.Contains(aws.ToString(oldest.Cause), "created an AutoScalingGroup changing the desired capacity from 0 to 2") {
		t.Errorf("the oldest activity's cause: %s", aws.ToString(oldest.Cause))
	}

	// EC2 sees the group's instances, tagged as Auto Scaling tags them.
	byGroup := []ec2types.Filter{{Name: aws.String("tag:aws:autoscaling:groupName"), Values: []string{"web"}},
		{Name: aws.String("instance-state-name"), Values: []string{"running"}}}
	insts, err := c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: byGroup})
	if err != nil || len(insts.Reservations) != 3 {
		t.Fatalf("the group's instances: %+v, %v", insts, err)
	}
	first := insts.Reservations[0].Instances[0]
	tags := map[string]string{}
	for _, tg := range first.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if tags["team"] != "shop" || tags["cost"] != "" || first.InstanceType != "t3.micro" || aws.ToString(first.ImageId) == "" {
		t.Fatalf("an instance as EC2 sees it: %+v, tags %v", first, tags)
	}
	status, err := c.ec2.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: []string{aws.ToString(first.InstanceId)}})
	if err != nil || len(status.InstanceStatuses) != 1 || status.InstanceStatuses[0].InstanceStatus.Status != ec2types.SummaryStatusOk {
		t.Fatalf("status %+v, %v", status, err)
	}
	_, err = c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789ab"}})
	wantAWSCode(t, err, "InvalidInstanceID.NotFound")
	// A group's instance terminated through EC2 is replaced by its group.
	if _, err := c.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{aws.ToString(first.InstanceId)}}); err != nil {
		t.Fatal(err)
	}
	c.healthy(t, tgARN, 3)
	groups, err = c.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web"}})
	if err != nil || slices.ContainsFunc(groups.AutoScalingGroups[0].Instances, func(i astypes.Instance) bool {
		return aws.ToString(i.InstanceId) == aws.ToString(first.InstanceId)
	}) {
		t.Fatalf("the terminated instance is still in the group: %+v, %v", groups, err)
	}
	g = groups.AutoScalingGroups[0]

	// Target tracking and scale-in protection act on the running group.
	if _, err := c.asg.PutScalingPolicy(ctx, &autoscaling.PutScalingPolicyInput{AutoScalingGroupName: aws.String("web"), PolicyName: aws.String("cpu50"),
		PolicyType: aws.String("TargetTrackingScaling"), TargetTrackingConfiguration: &astypes.TargetTrackingConfiguration{
			PredefinedMetricSpecification: &astypes.PredefinedMetricSpecification{PredefinedMetricType: astypes.MetricTypeASGAverageCPUUtilization},
			TargetValue:                   aws.Float64(50)}}); err != nil {
		t.Fatal(err)
	}
	pols, err := c.asg.DescribePolicies(ctx, &autoscaling.DescribePoliciesInput{AutoScalingGroupName: aws.String("web")})
	if err != nil || len(pols.ScalingPolicies) != 1 || aws.ToString(pols.ScalingPolicies[0].PolicyName) != "cpu50" ||
		aws.ToFloat64(pols.ScalingPolicies[0].TargetTrackingConfiguration.TargetValue) != 50 {
		t.Fatalf("policies %+v, %v", pols, err)
	}
	if _, err := c.asg.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: aws.String("web"),
		InstanceIds: []string{aws.ToString(g.Instances[0].InstanceId)}, ProtectedFromScaleIn: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	groups, err = c.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web"}})
	if err != nil || !slices.ContainsFunc(groups.AutoScalingGroups[0].Instances, func(i astypes.Instance) bool {
		return aws.ToString(i.InstanceId) == aws.ToString(g.Instances[0].InstanceId) && aws.ToBool(i.ProtectedFromScaleIn)
	}) {
		t.Fatalf("protection not described: %+v, %v", groups, err)
	}
	_, err = c.asg.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: aws.String("web"),
		InstanceIds: []string{"i-000000000000"}, ProtectedFromScaleIn: aws.Bool(true)})
	wantAWSCode(t, err, "ValidationError")
	if _, err := c.asg.DeletePolicy(ctx, &autoscaling.DeletePolicyInput{AutoScalingGroupName: aws.String("web"), PolicyName: aws.String("cpu50")}); err != nil {
		t.Fatal(err)
	}

	// Tags: the group's, through Auto Scaling; the balancer's, through ELBv2.
	if _, err := c.asg.CreateOrUpdateTags(ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: []astypes.Tag{{ResourceId: aws.String("web"),
		ResourceType: aws.String("auto-scaling-group"), Key: aws.String("owner"), Value: aws.String("ops"), PropagateAtLaunch: aws.Bool(true)}}}); err != nil {
		t.Fatal(err)
	}
	gtags, err := c.asg.DescribeTags(ctx, &autoscaling.DescribeTagsInput{Filters: []astypes.Filter{{Name: aws.String("key"), Values: []string{"owner"}}}})
	if err != nil || len(gtags.Tags) != 1 || aws.ToString(gtags.Tags[0].Value) != "ops" || !aws.ToBool(gtags.Tags[0].PropagateAtLaunch) {
		t.Fatalf("group tags %+v, %v", gtags, err)
	}
	if _, err := c.elb.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{tgARN}, Tags: []elbtypes.Tag{{Key: aws.String("owner"), Value: aws.String("ops")}}}); err != nil {
		t.Fatal(err)
	}
	etags, err := c.elb.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{tgARN}})
	if err != nil || len(etags.TagDescriptions) != 1 || len(etags.TagDescriptions[0].Tags) != 1 {
		t.Fatalf("target group tags %+v, %v", etags, err)
	}
	if _, err := c.elb.RemoveTags(ctx, &elbv2.RemoveTagsInput{ResourceArns: []string{tgARN}, TagKeys: []string{"owner"}}); err != nil {
		t.Fatal(err)
	}

	// A restarted daemon resumes the group from the store.
	td.restart()
	c = td.aws()
	c.healthy(t, tgARN, 3)

	_, err = c.asg.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("web")})
	wantAWSCode(t, err, "ResourceInUse")
	_, err = c.elb.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(tgARN)})
	wantAWSCode(t, err, "ResourceInUse")
	if _, err := c.asg.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"), ForceDelete: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if names := td.fake.Names(); len(names) != 0 {
		t.Fatalf("domains left: %v", names)
	}
	groups, err = c.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil || len(groups.AutoScalingGroups) != 0 || len(td.d.Fleets()) != 0 {
		t.Fatalf("after the delete: %+v %v; fleets %+v", groups.AutoScalingGroups, err, td.d.Fleets())
	}
}

func TestBadGroupsAreRefusedWithAutoScalingsCodesAndLeaveNothing(t *testing.T) {
	td := newTestDaemon(t)
	c := td.aws()
	ctx := context.Background()
	tgARN, _ := c.webBehindBalancer(t, td)
	good := func() *autoscaling.CreateAutoScalingGroupInput {
		return &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"),
			LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web")},
			MinSize:        aws.Int32(0), MaxSize: aws.Int32(2), DesiredCapacity: aws.Int32(0), TargetGroupARNs: []string{tgARN}}
	}
	for _, tc := range []struct {
		name   string
		change func(*autoscaling.CreateAutoScalingGroupInput)
		code   string
	}{
		{"desired above max", func(in *autoscaling.CreateAutoScalingGroupInput) { in.DesiredCapacity = aws.Int32(3) }, "ValidationError"},
		{"min above max", func(in *autoscaling.CreateAutoScalingGroupInput) { in.MinSize = aws.Int32(3) }, "ValidationError"},
		{"a launch template that does not exist", func(in *autoscaling.CreateAutoScalingGroupInput) {
			in.LaunchTemplate.LaunchTemplateName = aws.String("nope")
		}, "ValidationError"},
		{"a version that does not exist", func(in *autoscaling.CreateAutoScalingGroupInput) { in.LaunchTemplate.Version = aws.String("9") }, "ValidationError"},
		{"a target group that does not exist", func(in *autoscaling.CreateAutoScalingGroupInput) {
			in.TargetGroupARNs = []string{strings.Replace(tgARN, "web-tg", "no-tg", 1)}
		}, "ValidationError"},
		{"a launch configuration", func(in *autoscaling.CreateAutoScalingGroupInput) {
			in.LaunchTemplate, in.LaunchConfigurationName = nil, aws.String("old")
		}, "ValidationError"},
		{"another subnet", func(in *autoscaling.CreateAutoScalingGroupInput) {
			in.VPCZoneIdentifier = aws.String("subnet-12345678")
		}, "ValidationError"},
		{"an unknown health check type", func(in *autoscaling.CreateAutoScalingGroupInput) { in.HealthCheckType = aws.String("PING") }, "ValidationError"},
		{"a lifecycle hook with a heartbeat timeout under 30 s", func(in *autoscaling.CreateAutoScalingGroupInput) {
			in.LifecycleHookSpecificationList = []astypes.LifecycleHookSpecification{{LifecycleHookName: aws.String("h"),
				LifecycleTransition: aws.String("autoscaling:EC2_INSTANCE_LAUNCHING"), HeartbeatTimeout: aws.Int32(10)}}
		}, "ValidationError"},
		{"a lifecycle hook at an unknown transition", func(in *autoscaling.CreateAutoScalingGroupInput) {
			in.LifecycleHookSpecificationList = []astypes.LifecycleHookSpecification{{LifecycleHookName: aws.String("h"),
				LifecycleTransition: aws.String("autoscaling:EC2_INSTANCE_REBOOTING")}}
		}, "ValidationError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := good()
			tc.change(in)
			_, err := c.asg.CreateAutoScalingGroup(ctx, in)
			wantAWSCode(t, err, tc.code)
			groups, err := c.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
			if err != nil || len(groups.AutoScalingGroups) != 0 || len(td.d.Fleets()) != 0 {
				t.Fatalf("left behind: %+v %v; fleets %+v", groups, err, td.d.Fleets())
			}
		})
	}
	if _, err := c.asg.CreateAutoScalingGroup(ctx, good()); err != nil {
		t.Fatal(err)
	}
	_, err := c.asg.CreateAutoScalingGroup(ctx, good())
	wantAWSCode(t, err, "AlreadyExists")
	_, err = c.asg.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("web"), DesiredCapacity: aws.Int32(5)})
	wantAWSCode(t, err, "ValidationError")
	_, err = c.asg.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("nope"), DesiredCapacity: aws.Int32(1)})
	wantAWSCode(t, err, "ValidationError")
}
