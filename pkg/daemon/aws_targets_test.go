package daemon

import (
	"context"
	"io"
	"net/http"
	"strings"
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

// Standalone instances registered with a target group no Auto Scaling
// group uses are balanced behind its load balancer's listener, checked
// for health, kept across a daemon restart, and taken out by
// DeregisterTargets and by their termination; bad registrations get
// ELB's codes and change nothing.
func TestRegisteredInstancesServeBehindTheirTargetGroupsListener(t *testing.T) {
	td := newTestDaemon(t)
	c := td.aws()
	ctx := context.Background()
	tgARN, addr := c.webBehindBalancer(t, td)
	run, err := c.ec2.RunInstances(ctx, &ec2.RunInstancesInput{LaunchTemplate: &ec2types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web")},
		MinCount: aws.Int32(2), MaxCount: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	a, b := aws.ToString(run.Instances[0].InstanceId), aws.ToString(run.Instances[1].InstanceId)
	register := func(tg string, targets ...elbtypes.TargetDescription) error {
		_, err := c.elb.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(tg), Targets: targets})
		return err
	}
	target := func(id string) elbtypes.TargetDescription { return elbtypes.TargetDescription{Id: aws.String(id)} }
	for name, bad := range map[string]struct {
		tg      string
		targets []elbtypes.TargetDescription
		code    string
	}{
		"no targets":           {tgARN, []elbtypes.TargetDescription{}, "ValidationError"},
		"no such instance":     {tgARN, []elbtypes.TargetDescription{target("i-000000000000")}, "InvalidTarget"},
		"a port it serves not": {tgARN, []elbtypes.TargetDescription{{Id: aws.String(a), Port: aws.Int32(9999)}}, "InvalidTarget"},
		"no such target group": {strings.Replace(tgARN, "web-tg", "nope", 1), []elbtypes.TargetDescription{target(a)}, "TargetGroupNotFound"},
	} {
		err := register(bad.tg, bad.targets...)
		t.Run(name, func(t *testing.T) { wantAWSCode(t, err, bad.code) })
	}
	if got := c.targetHealth(t, tgARN); len(got) != 0 {
		t.Fatalf("after refused registrations the target group has %v; want none", got)
	}

	if err := register(tgARN, target(a), target(b)); err != nil {
		t.Fatal(err)
	}
	c.healthy(t, tgARN, 2)
	if got := answering(t, addr); len(got) != 2 {
		t.Fatalf("the listener answered from %v; want both registered instances", got)
	}
	// A group cannot go behind a target group of registered instances.
	_, err = c.asg.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"),
		LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web")},
		MinSize:        aws.Int32(1), MaxSize: aws.Int32(1), TargetGroupARNs: []string{tgARN}})
	wantAWSCode(t, err, "ValidationError")

	// What was registered is stored: a restarted daemon serves it again.
	td.restart()
	c = td.aws()
	c.healthy(t, tgARN, 2)
	if got := answering(t, addr); len(got) != 2 {
		t.Fatalf("after a restart the listener answered from %v; want both registered instances", got)
	}

	if _, err := c.elb.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(tgARN), Targets: []elbtypes.TargetDescription{target(a)}}); err != nil {
		t.Fatal(err)
	}
	_, err = c.elb.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(tgARN), Targets: []elbtypes.TargetDescription{target(a)}})
	wantAWSCode(t, err, "InvalidTarget")
	if got := answering(t, addr); len(got) != 1 || !got["hello from "+b] {
		t.Fatalf("after deregistering %s the listener answered from %v; want %s only", a, got, b)
	}

	// A terminated instance leaves the target group, and with the last
	// one the listener stops.
	if _, err := c.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{b}}); err != nil {
		t.Fatal(err)
	}
	if got := c.targetHealth(t, tgARN); len(got) != 0 {
		t.Fatalf("after terminating %s the target group has %v; want none", b, got)
	}
	if resp, err := http.Get("http://" + addr + "/"); err == nil {
		resp.Body.Close()
		t.Fatalf("the listener of a target group with no target still answers %s", resp.Status)
	}
}

// targetHealth is the target group's targets and their states.
func (c awsClients) targetHealth(t *testing.T, tgARN string) map[string]elbtypes.TargetHealthStateEnum {
	t.Helper()
	out, err := c.elb.DescribeTargetHealth(context.Background(), &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgARN)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]elbtypes.TargetHealthStateEnum{}
	for _, d := range out.TargetHealthDescriptions {
		got[aws.ToString(d.Target.Id)] = d.TargetHealth.State
	}
	return got
}

// answering is the answers 20 requests through addr got, each once.
func answering(t *testing.T, addr string) map[string]bool {
	t.Helper()
	// A connection each: the balancer picks a target per connection.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	got := map[string]bool{}
	for range 20 {
		resp, err := client.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got[string(body)] = true
	}
	return got
}

// A group's target group takes no registered instance, and a group's
// instance is not registered elsewhere: its group registers it.
func TestRegisterTargetsRefusesAGroupsTargetGroupAndInstances(t *testing.T) {
	td := newTestDaemon(t)
	c := td.aws()
	ctx := context.Background()
	tgARN, _ := c.webBehindBalancer(t, td)
	c.webGroup(t, tgARN, 1, nil)
	c.healthy(t, tgARN, 1)
	groups, err := c.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	inGroup := aws.ToString(groups.AutoScalingGroups[0].Instances[0].InstanceId)
	run, err := c.ec2.RunInstances(ctx, &ec2.RunInstancesInput{LaunchTemplate: &ec2types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web")},
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	other, err := c.elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("other"), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(8080), VpcId: aws.String("vpc-0000000000000f1ee")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.elb.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(tgARN), Targets: []elbtypes.TargetDescription{{Id: run.Instances[0].InstanceId}}})
	wantAWSCode(t, err, "ValidationError")
	_, err = c.elb.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: other.TargetGroups[0].TargetGroupArn, Targets: []elbtypes.TargetDescription{{Id: aws.String(inGroup)}}})
	wantAWSCode(t, err, "InvalidTarget")
	if got := c.targetHealth(t, tgARN); len(got) != 1 || got[inGroup] != elbtypes.TargetHealthStateEnumHealthy {
		t.Errorf("the group's target group has %v; want its one instance, healthy", got)
	}
}
