package daemon

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/vmfleet/vmfleet/pkg/client"
)

// A fleet file and an API group cannot share a name: the file is refused
// and the group left as it was.
func TestAFleetFileIsRefusedTheNameOfAnAPIGroup(t *testing.T) {
	td := newTestDaemon(t)
	c := td.aws()
	ctx := context.Background()
	tgARN, _ := c.webBehindBalancer(t, td)
	if _, err := c.asg.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("shop"),
		LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web")},
		MinSize:        aws.Int32(0), MaxSize: aws.Int32(1), TargetGroupARNs: []string{tgARN}}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(td.dir, "fleet.yaml")
	if err := os.WriteFile(file, []byte(fleetYAML("")), 0o644); err != nil {
		t.Fatal(err)
	}
	req, err := client.ReadFleet(file)
	if err != nil {
		t.Fatal(err)
	}
	_, err = td.d.Apply(ctx, req)
	if err == nil || !strings.Contains(err.Error(), "made through the AWS API") {
		t.Fatalf("up of a fleet named like an API group: %v", err)
	}
	groups, err := c.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"shop"}})
	if err != nil || len(groups.AutoScalingGroups) != 1 || aws.ToString(groups.AutoScalingGroups[0].LaunchTemplate.LaunchTemplateName) != "web" {
		t.Fatalf("the group after the refused up: %+v, %v", groups, err)
	}
}

// A group made without a target group is attached to one, serves
// through its load balancer, and is detached again.
func TestAGroupIsAttachedToATargetGroupAndDetached(t *testing.T) {
	td := newTestDaemon(t)
	c := td.aws()
	ctx := context.Background()
	tgARN, addr := c.webBehindBalancer(t, td)
	if _, err := c.asg.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"),
		LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web")},
		MinSize:        aws.Int32(1), MaxSize: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.asg.AttachLoadBalancerTargetGroups(ctx, &autoscaling.AttachLoadBalancerTargetGroupsInput{AutoScalingGroupName: aws.String("web"),
		TargetGroupARNs: []string{tgARN}}); err != nil {
		t.Fatal(err)
	}
	c.healthy(t, tgARN, 1)
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	_, err = c.asg.DetachLoadBalancerTargetGroups(ctx, &autoscaling.DetachLoadBalancerTargetGroupsInput{AutoScalingGroupName: aws.String("web"),
		TargetGroupARNs: []string{strings.Replace(tgARN, "web-tg", "other", 1)}})
	wantAWSCode(t, err, "ValidationError")
	if _, err := c.asg.DetachLoadBalancerTargetGroups(ctx, &autoscaling.DetachLoadBalancerTargetGroupsInput{AutoScalingGroupName: aws.String("web"),
		TargetGroupARNs: []string{tgARN}}); err != nil {
		t.Fatal(err)
	}
	groups, err := c.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web"}})
	if err != nil || len(groups.AutoScalingGroups[0].TargetGroupARNs) != 0 {
		t.Fatalf("after the detach: %+v, %v", groups, err)
	}
	if _, err := c.elb.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(tgARN)}); err == nil {
		t.Fatal("a target group a listener forwards to was deleted")
	}
}
