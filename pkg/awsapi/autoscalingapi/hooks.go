package autoscalingapi

import (
	"context"
	"regexp"
	"slices"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire"
	"github.com/vmfleet/vmfleet/pkg/awswire/autoscaling"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// AWS's bounds on lifecycle hooks.
const (
	maxHooks                = 50
	defaultHeartbeatTimeout = time.Hour
	minHeartbeatTimeout     = 30 * time.Second
	maxHeartbeatTimeout     = 2 * time.Hour
)

var hookName = regexp.MustCompile(`^[A-Za-z0-9\-_/]{1,255}$`)

// hookSpec is what PutLifecycleHook and a group's
// LifecycleHookSpecificationList give of a hook; nil is not given.
type hookSpec struct {
	name                                    string
	transition, metadata, target, role, def *string
	heartbeat                               *int32
}

// apply validates s as Auto Scaling does and sets what it gives on h.
func (s hookSpec) apply(h *store.LifecycleHook) error {
	if !hookName.MatchString(s.name) {
		return awsapi.Validation("LifecycleHookName '%s' must be 1 to 255 letters, digits, '-', '_' or '/'", s.name)
	}
	h.Name = s.name
	if s.transition != nil {
		if t := *s.transition; t != store.TransitionLaunching && t != store.TransitionTerminating {
			return awsapi.Validation("Invalid Lifecycle Transition: '%s'; use %s or %s", t, store.TransitionLaunching, store.TransitionTerminating)
		}
		h.Transition = *s.transition
	}
	if h.Transition == "" {
		return awsapi.Validation("LifecycleTransition is required for a new lifecycle hook")
	}
	if s.heartbeat != nil {
		d := time.Duration(*s.heartbeat) * time.Second
		if d < minHeartbeatTimeout || d > maxHeartbeatTimeout {
			return awsapi.Validation("HeartbeatTimeout %d must be between 30 and 7200 seconds", *s.heartbeat)
		}
		h.HeartbeatTimeout = d
	}
	if h.HeartbeatTimeout == 0 {
		h.HeartbeatTimeout = defaultHeartbeatTimeout
	}
	if s.def != nil {
		if r := *s.def; r != store.ResultContinue && r != store.ResultAbandon {
			return awsapi.Validation("DefaultResult '%s' must be CONTINUE or ABANDON", r)
		}
		h.DefaultResult = *s.def
	}
	if h.DefaultResult == "" {
		h.DefaultResult = store.ResultAbandon
	}
	for _, f := range []struct {
		from *string
		to   *string
	}{{s.metadata, &h.Metadata}, {s.target, &h.NotificationTarget}, {s.role, &h.Role}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	return nil
}

// putHook adds or changes the hook s names on g (its fields not given
// keep their values, as PutLifecycleHook does).
func putHook(g *store.Group, s hookSpec) error {
	i := slices.IndexFunc(g.LifecycleHooks, func(h store.LifecycleHook) bool { return h.Name == s.name })
	var h store.LifecycleHook
	if i >= 0 {
		h = g.LifecycleHooks[i]
	} else if len(g.LifecycleHooks) >= maxHooks {
		return awsapi.Errorf("LimitExceeded", "Group %s already has the most lifecycle hooks allowed (%d)", g.Name, maxHooks)
	}
	if err := s.apply(&h); err != nil {
		return err
	}
	g.LifecycleHooks = slices.Clone(g.LifecycleHooks)
	if i >= 0 {
		g.LifecycleHooks[i] = h
	} else {
		g.LifecycleHooks = append(g.LifecycleHooks, h)
	}
	return nil
}

func (a *AutoScaling) putLifecycleHook(ctx context.Context, in *autoscaling.PutLifecycleHookInput) (*autoscaling.PutLifecycleHookOutput, error) {
	g, err := a.apiGroup(ctx, in.AutoScalingGroupName, "lifecycle hooks")
	if err != nil {
		return nil, err
	}
	spec := hookSpec{name: in.LifecycleHookName, transition: in.LifecycleTransition, metadata: in.NotificationMetadata,
		target: in.NotificationTargetARN, role: in.RoleARN, def: in.DefaultResult, heartbeat: in.HeartbeatTimeout}
	if err := putHook(&g, spec); err != nil {
		return nil, err
	}
	if err := a.Runtime.UpdateGroup(ctx, g); err != nil {
		return nil, err
	}
	return &autoscaling.PutLifecycleHookOutput{}, nil
}

func (a *AutoScaling) describeLifecycleHooks(ctx context.Context, in *autoscaling.DescribeLifecycleHooksInput) (*autoscaling.DescribeLifecycleHooksOutput, error) {
	g, _, err := a.group(ctx, in.AutoScalingGroupName)
	if err != nil {
		return nil, err
	}
	out := &autoscaling.DescribeLifecycleHooksOutput{LifecycleHooks: []autoscaling.LifecycleHook{}}
	for _, h := range g.LifecycleHooks {
		if len(in.LifecycleHookNames) > 0 && !slices.Contains(in.LifecycleHookNames, h.Name) {
			continue
		}
		out.LifecycleHooks = append(out.LifecycleHooks, autoscaling.LifecycleHook{LifecycleHookName: new(h.Name), AutoScalingGroupName: new(g.Name),
			LifecycleTransition: new(h.Transition), HeartbeatTimeout: new(int32(h.HeartbeatTimeout / time.Second)),
			GlobalTimeout: new(int32(h.GlobalTimeout() / time.Second)), DefaultResult: new(h.DefaultResult),
			NotificationMetadata: optional(h.Metadata), NotificationTargetARN: optional(h.NotificationTarget), RoleARN: optional(h.Role)})
	}
	return out, nil
}

func (a *AutoScaling) deleteLifecycleHook(ctx context.Context, in *autoscaling.DeleteLifecycleHookInput) (*autoscaling.DeleteLifecycleHookOutput, error) {
	g, err := a.apiGroup(ctx, in.AutoScalingGroupName, "lifecycle hooks")
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(g.LifecycleHooks, func(h store.LifecycleHook) bool { return h.Name == in.LifecycleHookName })
	if i < 0 {
		return nil, awsapi.Validation("No Lifecycle Hook found for name: %s", in.LifecycleHookName)
	}
	g.LifecycleHooks = slices.Delete(slices.Clone(g.LifecycleHooks), i, i+1)
	if err := a.Runtime.UpdateGroup(ctx, g); err != nil {
		return nil, err
	}
	return &autoscaling.DeleteLifecycleHookOutput{}, nil
}

func (a *AutoScaling) completeLifecycleAction(ctx context.Context, in *autoscaling.CompleteLifecycleActionInput) (*autoscaling.CompleteLifecycleActionOutput, error) {
	if r := in.LifecycleActionResult; r != store.ResultContinue && r != store.ResultAbandon {
		return nil, awsapi.Validation("LifecycleActionResult '%s' must be CONTINUE or ABANDON", r)
	}
	g, la, err := a.lifecycleAction(ctx, in.AutoScalingGroupName, in.LifecycleHookName, in.InstanceId, in.LifecycleActionToken)
	if err != nil {
		return nil, err
	}
	if err := a.Runtime.CompleteLifecycleAction(ctx, g.Fleet, la, in.LifecycleActionResult); err != nil {
		return nil, err
	}
	return &autoscaling.CompleteLifecycleActionOutput{}, nil
}

func (a *AutoScaling) recordLifecycleActionHeartbeat(ctx context.Context, in *autoscaling.RecordLifecycleActionHeartbeatInput) (*autoscaling.RecordLifecycleActionHeartbeatOutput, error) {
	g, la, err := a.lifecycleAction(ctx, in.AutoScalingGroupName, in.LifecycleHookName, in.InstanceId, in.LifecycleActionToken)
	if err != nil {
		return nil, err
	}
	if err := a.Runtime.RecordLifecycleActionHeartbeat(ctx, g.Fleet, la); err != nil {
		return nil, err
	}
	return &autoscaling.RecordLifecycleActionHeartbeatOutput{}, nil
}

// lifecycleAction checks the group and hook an action is named by, and
// that it names its instance or its token.
func (a *AutoScaling) lifecycleAction(ctx context.Context, group, hook string, instance, token *string) (store.Group, api.LifecycleAction, error) {
	g, _, err := a.group(ctx, group)
	if err != nil {
		return g, api.LifecycleAction{}, err
	}
	if !slices.ContainsFunc(g.LifecycleHooks, func(h store.LifecycleHook) bool { return h.Name == hook }) {
		return g, api.LifecycleAction{}, awsapi.Validation("No Lifecycle Hook found for name: %s", hook)
	}
	if awswire.Value(instance) == "" && awswire.Value(token) == "" {
		return g, api.LifecycleAction{}, awsapi.Validation("Either InstanceId or LifecycleActionToken must be given")
	}
	return g, api.LifecycleAction{Hook: hook, Instance: awswire.Value(instance), Token: awswire.Value(token)}, nil
}

// apiGroup is the group called name, made through the API: a fleet
// file's groups are changed in their file.
func (a *AutoScaling) apiGroup(ctx context.Context, name, what string) (store.Group, error) {
	g, f, err := a.group(ctx, name)
	if err != nil {
		return g, err
	}
	if !f.FromAPI() {
		return g, awsapi.Validation("The group %s belongs to the fleet %s (%s), which gives no %s; make the group through the API to use them", g.Name, f.Name, f.File, what)
	}
	return g, nil
}

// optional is s, or nil when empty (AWS omits unset members).
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
