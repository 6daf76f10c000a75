package api

import "strings"

// Instance phases: one vocabulary, Auto Scaling's lifecycle states, used
// by the controller, the API and the CLI.
const (
	// Pending: launching or booting, not yet healthy.
	Pending   = "Pending"
	InService = "InService"
	// Terminating: draining and terminating, or being replaced.
	Terminating = "Terminating"
	// PendingWait and TerminatingWait: held by a lifecycle hook until
	// its action completes or times out.
	PendingWait     = "Pending:Wait"
	TerminatingWait = "Terminating:Wait"
	// Standby: running, out of the balancer and the group's count
	// (EnterStandby).
	Standby = "Standby"
	// WarmedPending is a warm pool instance being made ready: booting,
	// not yet healthy, or on its way to its pool state.
	WarmedPending = "Warmed:Pending"
)

// InTargetGroup reports whether an instance of a group in phase is
// registered with the group's target group: not in a warm pool, held by
// a lifecycle hook, or in standby.
func InTargetGroup(phase string) bool {
	switch phase {
	case PendingWait, TerminatingWait, Standby:
		return false
	}
	return !strings.HasPrefix(phase, "Warmed:")
}

// LifecycleAction names a lifecycle hook's action on an instance: by
// the instance, or by the token the action was announced with.
type LifecycleAction struct {
	Hook, Instance, Token string
}

// WarmedState is the lifecycle state of an instance waiting in a warm
// pool in poolState (limits.PoolStates), as Auto Scaling names it:
// Warmed:Stopped, Warmed:Running or Warmed:Hibernated.
func WarmedState(poolState string) string {
	if poolState == "" {
		return WarmedPending
	}
	return "Warmed:" + strings.ToUpper(poolState[:1]) + poolState[1:]
}
