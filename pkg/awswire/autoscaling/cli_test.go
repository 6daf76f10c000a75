package autoscaling_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/awswire/awswiretest"
)

// TestDescribeAutoScalingGroupsWithTheCLI has botocore, through the AWS
// CLI, read the generated answer: a second, independent client of the
// same XML.
func TestDescribeAutoScalingGroupsWithTheCLI(t *testing.T) {
	srv := awswiretest.NewServer(t, describeHandler(t))
	out := awswiretest.CLI(t, srv.URL, "autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names", "web")
	var got struct {
		AutoScalingGroups []struct {
			AutoScalingGroupName string
			MinSize, MaxSize     int
			DesiredCapacity      int
			CreatedTime          time.Time
			TargetGroupARNs      []string
			LoadBalancerNames    []string
			Instances            []struct {
				InstanceId           string
				LifecycleState       string
				HealthStatus         string
				ProtectedFromScaleIn bool
			}
			Tags []struct {
				Key               string
				PropagateAtLaunch bool
			}
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("reading the CLI's output: %v\n%s", err, out)
	}
	if len(got.AutoScalingGroups) != 1 {
		t.Fatalf("the CLI printed %d groups, want 1:\n%s", len(got.AutoScalingGroups), out)
	}
	g := got.AutoScalingGroups[0]
	if g.AutoScalingGroupName != "web" || g.MinSize != 1 || g.MaxSize != 4 || g.DesiredCapacity != 2 ||
		!g.CreatedTime.Equal(created) || len(g.TargetGroupARNs) != 1 || g.LoadBalancerNames == nil || len(g.LoadBalancerNames) != 0 {
		t.Errorf("group as the CLI prints it:\n%s", out)
	}
	if len(g.Instances) != 2 || g.Instances[0].LifecycleState != "InService" || !g.Instances[0].ProtectedFromScaleIn ||
		g.Instances[1].LifecycleState != "Pending:Wait" || g.Instances[1].HealthStatus != "Healthy" {
		t.Errorf("instances as the CLI prints them: %+v", g.Instances)
	}
	if len(g.Tags) != 1 || g.Tags[0].Key != "Name" || !g.Tags[0].PropagateAtLaunch {
		t.Errorf("tags as the CLI prints them: %+v", g.Tags)
	}
}
