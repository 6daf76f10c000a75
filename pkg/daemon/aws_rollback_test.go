package daemon

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vmfleet/vmfleet/pkg/store"
)

// An instance refresh to a version whose instances never pass their
// health check fails after limits.RefreshFailures of them; with
// AutoRollback it rolls back by itself to the version it replaced, and
// the balancer answers every request throughout. A rollback needs a
// desired configuration and numbered versions, as AWS's does.
func TestAFailingInstanceRefreshRollsBackByItself(t *testing.T) {
	td := newTestDaemon(t)
	c := td.aws()
	ctx := context.Background()
	tgARN, addr := c.webBehindBalancer(t, td)
	c.webGroup(t, tgARN, 2, func(in *autoscaling.CreateAutoScalingGroupInput) {
		in.LaunchTemplate.Version, in.HealthCheckGracePeriod = aws.String("1"), aws.Int32(3)
	})
	c.healthy(t, tgARN, 2)
	if _, err := c.ec2.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateName: aws.String("web"),
		SourceVersion: aws.String("1"), LaunchTemplateData: &ec2types.RequestLaunchTemplateData{
			UserData: aws.String(base64.StdEncoding.EncodeToString([]byte("unhealthy")))}}); err != nil {
		t.Fatal(err)
	}
	start := func(version string, desired bool) (*autoscaling.StartInstanceRefreshOutput, error) {
		in := &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("web"),
			Preferences: &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(50), AutoRollback: aws.Bool(true)}}
		if desired {
			in.DesiredConfiguration = &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{
				LaunchTemplateName: aws.String("web"), Version: aws.String(version)}}
		}
		return c.asg.StartInstanceRefresh(ctx, in)
	}
	for name, bad := range map[string]struct {
		version string
		desired bool
	}{"without a desired configuration": {"", false}, "to $Latest": {"$Latest", true}} {
		_, err := start(bad.version, bad.desired)
		t.Run(name, func(t *testing.T) { wantAWSCode(t, err, "IrreversibleInstanceRefresh") })
	}

	sent, failed, stop := c.requests(addr)
	out, err := start("2", true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, e := range td.d.Activities() {
				t.Log(e.String())
			}
		}
	})
	c.refreshEnds(t, aws.ToString(out.InstanceRefreshId), astypes.InstanceRefreshStatusRollbackSuccessful)
	stop()
	if sent.Load() == 0 || failed.Load() != 0 {
		t.Errorf("%d of %d requests failed during the refresh and its rollback", failed.Load(), sent.Load())
	}
	c.onVersion(t, "1", 2)
	r, err := c.asg.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	got := r.InstanceRefreshes[0]
	if reason := aws.ToString(got.StatusReason); !strings.Contains(reason, "failed") || !aws.ToBool(got.Preferences.AutoRollback) {
		t.Errorf("status reason %q, auto rollback %v; want why it rolled back, and true", reason, aws.ToBool(got.Preferences.AutoRollback))
	}
	groups, err := c.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web"}})
	if err != nil || aws.ToString(groups.AutoScalingGroups[0].LaunchTemplate.Version) != "1" {
		t.Errorf("after the rollback the group launches %+v, %v; want version 1", groups.AutoScalingGroups[0].LaunchTemplate, err)
	}
}

// A refresh whose instances fail ends Failed, or rolls back when it asked
// to; a rollback whose instances fail ends RollbackFailed.
func TestAFailedRefreshEndsOrRollsBack(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		name         string
		status       string
		autoRollback bool
		want         string
		ended        bool
		version      int
	}{
		{"without auto rollback", store.RefreshInProgress, false, store.RefreshFailed, true, 2},
		{"with auto rollback", store.RefreshInProgress, true, store.RefreshRollbackInProgress, false, 1},
		{"a rollback", store.RefreshRollbackInProgress, true, store.RefreshRollbackFailed, true, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := store.Group{LaunchTemplate: "web", LaunchTemplateVersion: 2, Refresh: &store.InstanceRefresh{ID: "r", Status: c.status,
				From: 1, To: 2, Desired: true, AutoRollback: c.autoRollback, Start: now.Add(-time.Minute)}}
			ended := failRefresh(&g, 3, now)
			r := g.Refresh
			if ended != c.ended || r.Status != c.want || g.LaunchTemplateVersion != c.version || !strings.Contains(r.Reason, "3 instances of launch template web version 2 failed") {
				t.Errorf("ended %v, %s, version %d, reason %q; want ended %v, %s, version %d", ended, r.Status, g.LaunchTemplateVersion, r.Reason, c.ended, c.want, c.version)
			}
			if ended == r.End.IsZero() {
				t.Errorf("end time %v when ended is %v", r.End, ended)
			}
		})
	}
}
