package store

import (
	"fmt"
	"time"

	"github.com/vmfleet/vmfleet/pkg/health"
	"github.com/vmfleet/vmfleet/pkg/imds"
)

// The resources are named after their AWS counterparts so that the words
// vmfleet uses (image, launch template, target group, auto scaling group)
// mean what an AWS user expects. They are plain data: the store keeps them,
// the daemon decides what they mean. Durations are nanoseconds in JSON, as
// encoding/json writes a time.Duration; times are UTC. Empty and nil
// slices and maps are the same value (both are left out of the JSON).

// Image is a baked machine image (an AWS AMI). It names a content-addressed
// image in the image store.
type Image struct {
	// ID is "ami-" and the first 17 hex digits of Digest; see ImageID.
	ID   string `json:"id"`
	Name string `json:"name"`
	// Digest is the sha256 (64 lower-case hex digits) that addresses the
	// image's content.
	Digest  string    `json:"digest"`
	Created time.Time `json:"created"`
}

// imageIDHexDigits is how many hex digits of the digest an image ID keeps:
// as many as an AWS AMI ID has.
const imageIDHexDigits = 17

// ImageID returns the AMI-style ID of the image with the given sha256 hex
// digest.
func ImageID(digest string) (string, error) {
	if !isSHA256Hex(digest) {
		return "", fmt.Errorf("image digest %q is not a sha256 digest; give the 64 lower-case hex digits", digest)
	}
	return "ami-" + digest[:imageIDHexDigits], nil
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// LaunchTemplate is a named, versioned description of how to launch an
// instance. Its versions are kept apart and never change once written.
type LaunchTemplate struct {
	Name string `json:"name"`
	// ID is EC2's LaunchTemplateId ("lt-" and 17 hex digits), made when
	// the template is.
	ID string `json:"id,omitempty"`
	// Tags are the template's own tags (TagSpecifications of type
	// launch-template).
	Tags map[string]string `json:"tags,omitempty"`
	// DefaultVersion is the version used when a caller asks for none.
	// It is 1 until SetDefaultLaunchTemplateVersion moves it.
	DefaultVersion int `json:"default_version"`
	// LatestVersion is the highest version number.
	LatestVersion int `json:"latest_version"`
}

// LaunchTemplateVersion is one immutable version of a launch template.
type LaunchTemplateVersion struct {
	Template string `json:"template"`
	// Version counts from 1 within the template.
	Version int `json:"version"`
	// Description is EC2's VersionDescription.
	Description string `json:"description,omitempty"`
	// InstanceType is the EC2 instance type CPU and MemoryBytes were
	// sized from; empty when they were given as such (a fleet file).
	InstanceType string            `json:"instance_type,omitempty"`
	ImageDigest  string            `json:"image_digest"`
	Command      []string          `json:"command,omitempty"`
	Env          map[string]string `json:"env,omitempty"`
	// Port is the guest port the service listens on; 0 for none.
	Port int `json:"port"`
	// CPU is the instance's CPU cap in cores.
	CPU         float64 `json:"cpu"`
	MemoryBytes int64   `json:"memory_bytes"`
	// UserData is what the instance reads at the metadata service's
	// /latest/user-data, as an EC2 launch template's.
	UserData string `json:"user_data,omitempty"`
	// DependsOn names the services of the same fleet whose balancers the
	// instance may reach and is told of (<NAME>_ADDR), as a security
	// group's rules name other groups; their groups start first.
	DependsOn []string `json:"depends_on,omitempty"`
	// Egress is what the instance may reach besides its dependencies, as
	// a security group's egress rules say.
	Egress Egress `json:"egress"`
	// MetadataOptions are how the instance's metadata service answers.
	MetadataOptions imds.MetadataOptions `json:"metadata_options"`
	Created         time.Time            `json:"created"`
}

// Egress is a launch template's outbound reach beyond the balancers of
// its group's dependencies. The zero value reaches nothing else.
type Egress struct {
	// HostPorts are ports on the host's loopback the instance may reach.
	HostPorts []int `json:"host_ports,omitempty"`
	// Internet lets the instance open connections to the outside.
	Internet bool `json:"internet,omitempty"`
}

// TargetGroup is a load balancer's set of targets (an ELB target group):
// how it checks the instances behind it and lets them go.
type TargetGroup struct {
	Name string `json:"name"`
	// Port and Protocol are where the targets listen, as
	// CreateTargetGroup gives them; 0 and "" for a fleet's, whose port
	// is its services'.
	Port     int    `json:"port,omitempty"`
	Protocol string `json:"protocol,omitempty"`
	// Tags are the target group's (ELBv2 AddTags).
	Tags        map[string]string `json:"tags,omitempty"`
	Created     time.Time         `json:"created,omitempty"`
	HealthCheck health.Check      `json:"health_check"`
	// DeregistrationDelay is how long a target leaving the group keeps
	// serving the connections it has.
	DeregistrationDelay time.Duration `json:"deregistration_delay"`
	// Replay resends a request that failed on one target to another.
	Replay bool `json:"replay"`
	// Targets are the instances RegisterTargets named, by id; a group's
	// instances are its own, not listed here.
	Targets []string `json:"targets,omitempty"`
}

// LoadBalancer is a service's load balancer (an ALB) with its one
// listener: where clients reach the service.
type LoadBalancer struct {
	Name string `json:"name"`
	// Address is the load balancer's own loopback address (its DNSName),
	// where its listeners bind, for one made through the ELBv2 API; a
	// fleet's listens where its file says.
	Address string            `json:"address,omitempty"`
	Tags    map[string]string `json:"tags,omitempty"`
	Created time.Time         `json:"created,omitempty"`
	// Listener is its one listener; Listen is empty for none yet.
	Listener Listener `json:"listener"`
}

// Listener is a load balancer's listener: its address, and the target
// group it forwards to (its default action).
type Listener struct {
	// Listen is the address as configured, e.g. "127.0.0.1:0"; empty for
	// a load balancer without a listener.
	Listen string `json:"listen"`
	// Protocol is the listener's, HTTP unless CreateListener said TCP.
	Protocol string `json:"protocol,omitempty"`
	// Bound is the address actually bound. It is kept so that a restarted
	// daemon listens on the same port its dependents were told.
	Bound       string `json:"bound,omitempty"`
	TargetGroup string `json:"target_group"`
}

// Health check types of a group, as AWS names them.
const (
	// GroupHealthEC2 replaces an instance only when it stops running.
	GroupHealthEC2 = "EC2"
	// GroupHealthELB also replaces an instance its target group finds
	// unhealthy.
	GroupHealthELB = "ELB"
)

// Group is an Auto Scaling group: the instances of one service of a fleet,
// launched from one launch template version and kept at a desired count.
// The instances themselves are not kept here; libvirt's domain metadata is
// the truth about them.
type Group struct {
	Name    string `json:"name"`
	Fleet   string `json:"fleet"`
	Service string `json:"service"`

	LaunchTemplate        string `json:"launch_template"`
	LaunchTemplateVersion int    `json:"launch_template_version"`
	// LaunchTemplateAlias is "$Latest" or "$Default" for a group given
	// one: LaunchTemplateVersion then follows the template's latest or
	// default version. Empty for a version given by number.
	LaunchTemplateAlias string `json:"launch_template_alias,omitempty"`
	// TargetGroup is empty for a service without a load balancer.
	TargetGroup string `json:"target_group,omitempty"`
	// LoadBalancer is the load balancer in front of TargetGroup.
	LoadBalancer string `json:"load_balancer,omitempty"`

	Min     int `json:"min"`
	Max     int `json:"max"`
	Desired int `json:"desired"`
	// FileDesired is the fleet file's count when Desired was last set from
	// the file; see ApplyFileCount.
	FileDesired int `json:"file_desired"`

	// HealthCheckType is GroupHealthEC2 or GroupHealthELB.
	HealthCheckType string `json:"health_check_type"`
	// HealthCheckGracePeriod is how long a new instance may fail health
	// checks before it is replaced.
	HealthCheckGracePeriod time.Duration `json:"health_check_grace_period"`
	// TerminationPolicies are tried in order to choose an instance to
	// remove when the group shrinks (limits.Termination*).
	TerminationPolicies []string `json:"termination_policies,omitempty"`

	// Target tracking, when the service has scaling: AWS's
	// DefaultInstanceWarmup (in AWS time), whether scale-in is left to
	// the user, and the policies.
	Scaling        bool                   `json:"scaling,omitempty"`
	InstanceWarmup time.Duration          `json:"instance_warmup,omitempty"`
	DisableScaleIn bool                   `json:"disable_scale_in,omitempty"`
	Policies       []TargetTrackingPolicy `json:"policies,omitempty"`
	// WarmPool is the group's warm pool (PutWarmPool); nil for none.
	WarmPool *WarmPool `json:"warm_pool,omitempty"`
	// LifecycleHooks hold its instances at launch or termination.
	LifecycleHooks []LifecycleHook `json:"lifecycle_hooks,omitempty"`
	// Tags are the group's (CreateOrUpdateTags); those marked in
	// PropagateAtLaunch are also its instances'.
	Tags              map[string]string `json:"tags,omitempty"`
	PropagateAtLaunch []string          `json:"propagate_at_launch,omitempty"`
	Created           time.Time         `json:"created,omitempty"`
	// Refresh is the group's latest instance refresh; nil for none.
	Refresh *InstanceRefresh `json:"refresh,omitempty"`
}

// Instance refresh statuses, as Auto Scaling names them.
const (
	RefreshInProgress         = "InProgress"
	RefreshSuccessful         = "Successful"
	RefreshCancelled          = "Cancelled"
	RefreshRollbackInProgress = "RollbackInProgress"
	RefreshRollbackSuccessful = "RollbackSuccessful"
	RefreshFailed             = "Failed"
	RefreshRollbackFailed     = "RollbackFailed"
)

// InstanceRefresh replaces a group's instances with ones of its launch
// template version To, keeping MinHealthy percent of the desired
// capacity in service and at most MaxHealthy percent running.
type InstanceRefresh struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	// From and To are the launch template versions replaced and
	// replacing; a rollback goes back to From.
	From int `json:"from"`
	To   int `json:"to"`
	// FromAlias is the group's launch template alias before the refresh,
	// which a rollback gives it back.
	FromAlias string `json:"from_alias,omitempty"`
	// MinHealthy and MaxHealthy are percentages of the desired capacity.
	MinHealthy int `json:"min_healthy"`
	MaxHealthy int `json:"max_healthy"`
	// SkipMatching leaves instances already on To; without it every
	// instance launched before Start is replaced.
	SkipMatching bool          `json:"skip_matching,omitempty"`
	Warmup       time.Duration `json:"warmup,omitempty"`
	// Desired: it was started with a desired configuration, which a
	// rollback needs (as AWS's); AutoRollback rolls it back when it fails.
	Desired      bool `json:"desired,omitempty"`
	AutoRollback bool `json:"auto_rollback,omitempty"`
	// Reason says why it failed or is rolling back (StatusReason).
	Reason string `json:"reason,omitempty"`
	// ToUpdate is how many instances needed replacing at the start;
	// Percentage is how far it is.
	ToUpdate   int       `json:"to_update"`
	Percentage int       `json:"percentage"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end,omitempty"`
	// Checkpoints are the percentages complete at which the refresh
	// waits CheckpointDelay (AWS time); Reached counts those passed, and
	// PausedUntil is the end of the wait at the last one.
	Checkpoints     []int         `json:"checkpoints,omitempty"`
	CheckpointDelay time.Duration `json:"checkpoint_delay,omitempty"`
	Reached         int           `json:"reached,omitempty"`
	PausedUntil     time.Time     `json:"paused_until,omitempty"`
}

// UpTo is how many of desired instances the refresh may have replaced
// before its next checkpoint (rounded up); 0 when it has none left.
func (r *InstanceRefresh) UpTo(desired int) int {
	if r.Reached >= len(r.Checkpoints) || r.Checkpoints[r.Reached] >= 100 {
		return 0
	}
	return (desired*r.Checkpoints[r.Reached] + 99) / 100
}

// Waiting reports whether the refresh is at a checkpoint at now.
func (r *InstanceRefresh) Waiting(now time.Time) bool {
	return r.Active() && now.Before(r.PausedUntil)
}

// Reversible reports whether the refresh can be rolled back: one with a
// desired configuration, from and to numbered versions (not an alias,
// which would not say what to go back to), as AWS allows.
func (r *InstanceRefresh) Reversible(toAlias string) bool {
	return r.Desired && r.From > 0 && r.FromAlias == "" && toAlias == ""
}

// RollBack turns g's refresh in progress into its rollback: the same
// refresh, back to the version it replaced, replacing only what it made.
func (g *Group) RollBack(now time.Time, reason string) {
	old := g.Refresh
	r := *old
	r.Status, r.From, r.To, r.Percentage, r.End, r.Start = RefreshRollbackInProgress, old.To, old.From, 0, time.Time{}, now.UTC().Truncate(time.Second)
	r.SkipMatching = true // what is still on the old version stays
	r.Checkpoints, r.Reached, r.PausedUntil, r.Reason = nil, 0, time.Time{}, reason
	g.LaunchTemplateVersion, g.LaunchTemplateAlias, g.Refresh = r.To, old.FromAlias, &r
}

// FailuresKey names the refresh, or its rollback, whose failed instances
// the controller counts (api.RefreshFailures.Of).
func (r *InstanceRefresh) FailuresKey() string { return r.ID + "/" + r.Status }

// Active tells whether the refresh is still replacing instances.
func (r *InstanceRefresh) Active() bool {
	return r != nil && (r.Status == RefreshInProgress || r.Status == RefreshRollbackInProgress)
}

// WarmPool is an Auto Scaling group's warm pool: instances prepared ahead
// of a scale-out, never in service until the group takes them.
type WarmPool struct {
	MinSize int `json:"min_size"`
	// MaxGroupPreparedCapacity bounds group and pool together; -1 is
	// AWS's "unset" (the group's max).
	MaxGroupPreparedCapacity int `json:"max_group_prepared_capacity"`
	// PoolState is one of limits.PoolStates.
	PoolState      string `json:"pool_state"`
	ReuseOnScaleIn bool   `json:"reuse_on_scale_in,omitempty"`
}

// TargetTrackingPolicy keeps one metric of a group near a target.
type TargetTrackingPolicy struct {
	// Name is the policy's (PutScalingPolicy's PolicyName); a fleet
	// file's policies are named after their metric.
	Name   string  `json:"name,omitempty"`
	Metric string  `json:"metric"`
	Target float64 `json:"target"`
}

// PolicyName is the policy's name as AWS lists it.
func (p TargetTrackingPolicy) PolicyName() string {
	if p.Name != "" {
		return p.Name
	}
	return p.Metric + "-target-tracking"
}

// FromAPI tells whether the fleet is an Auto Scaling group made through
// the AWS API rather than a fleet file.
func (f *Fleet) FromAPI() bool { return f.File == "" }

// StatusDeleteInProgress is an Auto Scaling group's Status while
// DeleteAutoScalingGroup runs; a fleet being taken down has it.
const StatusDeleteInProgress = "Delete in progress"

// Fleet is one fleet file brought up: the groups of its services.
type Fleet struct {
	Name string `json:"name"`
	// File is the absolute path of the fleet file; empty for an Auto
	// Scaling group made through the AWS API, a fleet of that one group
	// whose launch template, target group and load balancer are its
	// own resources (see FromAPI).
	File   string   `json:"file"`
	Groups []string `json:"groups,omitempty"`
	// BootCPUs bounds the CPU caps of the fleet's instances booting at
	// once (0: the machine's cores).
	BootCPUs float64 `json:"boot_cpus,omitempty"`
	// TimeScale multiplies every AWS period of the fleet (see
	// limits.DefaultTimeScale).
	TimeScale float64 `json:"time_scale,omitempty"`
	// Status is StatusDeleteInProgress once a down has begun: a daemon
	// that restarts finishes the down rather than bringing the fleet back.
	Status string `json:"status,omitempty"`
	// Generation counts changes to the fleet and its groups. The store
	// keeps it (and Updated): a Put of the fleet or of one of its groups
	// that changes nothing leaves it alone, so an `up` with nothing to do
	// can be told by an unchanged Generation.
	Generation int64     `json:"generation"`
	Updated    time.Time `json:"updated"`
}

// Scale is the time scale the fleet runs at: a hand-built fleet without
// one runs exact AWS time.
func (f *Fleet) Scale() float64 {
	if f.TimeScale > 0 {
		return f.TimeScale
	}
	return 1
}
