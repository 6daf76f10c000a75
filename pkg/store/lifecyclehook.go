package store

import "time"

// Lifecycle transitions a hook can hold, as Auto Scaling names them.
const (
	TransitionLaunching   = "autoscaling:EC2_INSTANCE_LAUNCHING"
	TransitionTerminating = "autoscaling:EC2_INSTANCE_TERMINATING"
)

// Lifecycle action results, as CompleteLifecycleAction takes them.
const (
	ResultContinue = "CONTINUE"
	ResultAbandon  = "ABANDON"
)

// LifecycleHook holds a group's instances at one transition (Pending:Wait
// on launch, Terminating:Wait on termination) until the action is
// completed, or HeartbeatTimeout passes without a heartbeat, when
// DefaultResult applies.
type LifecycleHook struct {
	Name             string        `json:"name"`
	Transition       string        `json:"transition"`
	HeartbeatTimeout time.Duration `json:"heartbeat_timeout"`
	DefaultResult    string        `json:"default_result"`
	// Metadata, NotificationTarget and Role are kept and described, as
	// PutLifecycleHook takes them; no notification is sent.
	Metadata           string `json:"metadata,omitempty"`
	NotificationTarget string `json:"notification_target,omitempty"`
	Role               string `json:"role,omitempty"`
}

// GlobalTimeout is the longest an instance waits on h however many
// heartbeats it records: 100 heartbeat timeouts, at most 48 hours.
func (h LifecycleHook) GlobalTimeout() time.Duration {
	return min(100*h.HeartbeatTimeout, 48*time.Hour)
}

// HooksAt returns g's hooks on transition, in the order they were put.
func (g *Group) HooksAt(transition string) []LifecycleHook {
	var out []LifecycleHook
	for _, h := range g.LifecycleHooks {
		if h.Transition == transition {
			out = append(out, h)
		}
	}
	return out
}
