package autoscalingapi

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire/autoscaling"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// describeActivities answers DescribeScalingActivities from the daemon's
// activity history: each launch and termination of a group's instance
// is an activity, its cause the change of desired capacity, the policy,
// the health check or the rollout that led to it, in AWS's words. Newest
// first, as AWS lists them.
func (a *AutoScaling) describeActivities(ctx context.Context, in *autoscaling.DescribeScalingActivitiesInput) (*autoscaling.DescribeScalingActivitiesOutput, error) {
	d, err := a.read(ctx)
	if err != nil {
		return nil, err
	}
	if in.AutoScalingGroupName != nil && !slices.ContainsFunc(d.groups, func(g store.Group) bool { return g.Name == *in.AutoScalingGroupName }) {
		return nil, awsapi.Validation("AutoScalingGroup name not found - AutoScalingGroup '%s' not found", *in.AutoScalingGroupName)
	}
	limit := 100
	if in.MaxRecords != nil {
		if *in.MaxRecords < 1 || *in.MaxRecords > 100 {
			return nil, awsapi.Validation("MaxRecords must be from 1 to 100")
		}
		limit = int(*in.MaxRecords)
	}
	out := &autoscaling.DescribeScalingActivitiesOutput{Activities: []autoscaling.Activity{}}
	for _, g := range d.groups {
		if in.AutoScalingGroupName != nil && *in.AutoScalingGroupName != g.Name {
			continue
		}
		out.Activities = append(out.Activities, a.activities(g.Name, g.Fleet, g.Service, a.Runtime.Activities())...)
	}
	slices.SortStableFunc(out.Activities, func(x, y autoscaling.Activity) int { return y.StartTime.Compare(x.StartTime) })
	if len(in.ActivityIds) > 0 {
		out.Activities = slices.DeleteFunc(out.Activities, func(x autoscaling.Activity) bool { return !slices.Contains(in.ActivityIds, x.ActivityId) })
	}
	if len(out.Activities) > limit {
		out.Activities = out.Activities[:limit]
	}
	return out, nil
}

// activities are a group's, from its service's events, oldest first.
func (a *AutoScaling) activities(group, fleet, service string, events []api.Event) []autoscaling.Activity {
	var out []autoscaling.Activity
	cause := ""
	stamp := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
	for _, ev := range events {
		if ev.Fleet != fleet || ev.Service != service {
			continue
		}
		switch ev.Kind {
		case "created":
			cause = fmt.Sprintf("At %s a user request created an AutoScalingGroup changing the %s.", stamp(ev.Time), desiredChange(ev.Message))
		case "scaled":
			cause = fmt.Sprintf("At %s a user request update of AutoScalingGroup constraints changed the %s.", stamp(ev.Time), desiredChange(ev.Message))
		case "autoscaling":
			cause = fmt.Sprintf("At %s a target tracking policy of the group acted: %s.", stamp(ev.Time), ev.Message)
		case "replacing":
			cause = fmt.Sprintf("At %s an instance was taken out of service in response to a health check failure (%s).", stamp(ev.Time), ev.Message)
		case "rollout":
			cause = fmt.Sprintf("At %s instances were replaced by a new launch template version: %s.", stamp(ev.Time), ev.Message)
		case "launched", "terminated":
			verb, what := "Launching a new EC2 instance", "an instance was started in response to a difference between desired and actual capacity"
			if ev.Kind == "terminated" {
				verb, what = "Terminating EC2 instance", "an instance was taken out of service"
			}
			c := fmt.Sprintf("At %s %s.", stamp(ev.Time), what)
			if cause != "" {
				c = cause + " " + c
			}
			end := ev.Time
			out = append(out, autoscaling.Activity{ActivityId: activityID(group, ev), AutoScalingGroupName: group,
				AutoScalingGroupARN: new(a.groupARN(group)), Description: new(verb + ": " + ev.Instance), Cause: c,
				StartTime: ev.Time, EndTime: &end, StatusCode: "Successful", Progress: new(int32(100)),
				Details: new(fmt.Sprintf(`{"Subnet ID":"subnet-0000000000000f1ee","Availability Zone":"%sa"}`, a.Region))})
		}
	}
	return out
}

// desiredChange reads "desired 2 -> 3" as AWS words it.
func desiredChange(msg string) string {
	var from, to int
	if _, err := fmt.Sscanf(strings.TrimSpace(msg), "desired %d -> %d", &from, &to); err != nil {
		return "desired capacity (" + msg + ")"
	}
	return fmt.Sprintf("desired capacity from %d to %d", from, to)
}

// activityID is an activity's id, a UUID derived from its event.
func activityID(group string, ev api.Event) string {
	return derivedID(group + "/" + ev.Kind + "/" + ev.Instance + "/" + ev.Time.Format(time.RFC3339Nano))
}
