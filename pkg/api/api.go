// Package api holds the types of vmfleet's daemon API: versioned JSON over
// HTTP on a unix socket (and optionally 127.0.0.1 with a token). The
// daemon serves them, pkg/client speaks them, and the CLI and the test
// harness use the client. The paths are listed in openapi.yaml beside this
// file, which a test checks against the server.
package api

import (
	"fmt"
	"time"
)

// Version is the API version, the first element of every path.
const Version = "v1"

// SocketName is the daemon's socket in a home.
const SocketName = "vmfleet.sock"

// TokenHeader carries the token on the optional TCP listener.
const TokenHeader = "X-Vmfleet-Token"

// Info describes a running daemon.
type Info struct {
	Version    string `json:"version"`
	API        string `json:"api"`
	PID        int    `json:"pid"`
	Supervisor int    `json:"supervisor_pid,omitempty"`
	Home       string `json:"home"`
	Socket     string `json:"socket"`
	TCP        string `json:"tcp,omitempty"`
	// MetricsURL serves Prometheus's text format.
	MetricsURL string `json:"metrics_url,omitempty"`
	// DefaultTimeScale is the time scale of a fleet file that sets none.
	DefaultTimeScale float64   `json:"default_time_scale"`
	LibvirtURI       string    `json:"libvirt_uri"`
	Libvirt          string    `json:"libvirt"` // connected, or why not
	Accel            string    `json:"accel"`
	AccelReason      string    `json:"accel_reason"`
	Started          time.Time `json:"started"`
	Fleets           int       `json:"fleets"`
	// Launch says how instances start: restored from a snapshot of their
	// machine, or by booting their kernel.
	Launch Launch `json:"launch"`
	// AWS is the daemon's AWS endpoint.
	AWS AWSEndpoint `json:"aws"`
	// Dashboard is the daemon's web page.
	Dashboard Dashboard `json:"dashboard"`
}

// Dashboard is where the daemon serves its page; the URL carries no
// token (vmfleet dashboard adds it from TokenFile).
type Dashboard struct {
	URL string `json:"url,omitempty"`
	// Reason says why it is not served.
	Reason string `json:"reason,omitempty"`
	// Controls: the page can scale, inject faults and send load.
	Controls  bool   `json:"controls"`
	TokenFile string `json:"token_file"`
}

// AWSEndpoint is where and how the daemon answers the AWS APIs.
type AWSEndpoint struct {
	// URL is what AWS_ENDPOINT_URL should say; empty when not served.
	URL string `json:"url,omitempty"`
	// Reason says why it is not served.
	Reason  string `json:"reason,omitempty"`
	Region  string `json:"region"`
	Account string `json:"account"`
	// Credentials is "home" (requests must be signed with the key in
	// CredentialsFile) or "any".
	Credentials     string `json:"credentials"`
	CredentialsFile string `json:"credentials_file"`
}

// Launch modes.
const (
	LaunchSnapshot = "snapshot"
	LaunchColdBoot = "cold-boot"
)

// Launch is how the daemon starts instances.
type Launch struct {
	Mode string `json:"mode"` // LaunchSnapshot or LaunchColdBoot
	// Why the mode is what it is (the flag that chose cold boot).
	Reason    string     `json:"reason,omitempty"`
	Snapshots []Snapshot `json:"snapshots"`
	// Spares are the instances made ahead for `run`, one per kind.
	Spares []Spare `json:"spares"`
}

// Spare is one instance made ahead of the `run` that takes it: restored
// and paused before its wake.
type Spare struct {
	// Kind is what it serves: fleet, service, image, cpu, memory and
	// network of the runs it can become.
	Kind string `json:"kind"`
	// Instance is its id; empty while it is being made.
	Instance string    `json:"instance,omitempty"`
	Made     time.Time `json:"made,omitempty"`
}

// Snapshot is one saved guest instances of a machine shape are restored
// from.
type Snapshot struct {
	Key          string    `json:"key"`
	VCPUs        uint      `json:"vcpus"`
	MemoryMiB    uint      `json:"memory_mib"`
	Accel        string    `json:"accel"`
	QEMU         string    `json:"qemu"`
	Kernel       string    `json:"kernel"`
	KernelDigest string    `json:"kernel_digest"`
	InitrdDigest string    `json:"initrd_digest"`
	StateBytes   int64     `json:"state_bytes"`
	Created      time.Time `json:"created"`
	// CaptureSeconds is how long booting and saving it took.
	CaptureSeconds float64 `json:"capture_seconds"`
}

// ApplyRequest asks the daemon to make a fleet file so.
type ApplyRequest struct {
	// File is the fleet file's absolute path: it names the fleet file in
	// Files, and relative paths in it are relative to its directory.
	File string `json:"file"`
	// Files are the content of the fleet file and of every env file it
	// names, by absolute path (client.ReadFleet): the daemon reads no
	// file of the client's but the images' inputs.
	Files map[string][]byte `json:"files"`
	// DryRun computes the changes without making them (vmfleet diff).
	DryRun bool `json:"dry_run,omitempty"`
	// BootCPUs bounds the CPU caps of instances booting at once (0: the
	// number of CPUs).
	BootCPUs float64 `json:"boot_cpus,omitempty"`
	// KernelVersion and Init pick the bake inputs (empty: defaults).
	KernelVersion string `json:"kernel_version,omitempty"`
	Init          string `json:"init,omitempty"`
	// TimeScale overrides the file's time_scale (0: the file's).
	TimeScale float64 `json:"time_scale,omitempty"`
}

// ApplyResult is what an apply changed, or would change.
type ApplyResult struct {
	Fleet   string   `json:"fleet"`
	Changes []Change `json:"changes"`
	// Generation counts the changes applied to the fleet so far.
	Generation int64 `json:"generation"`
}

// Change is one line of a plan, like terraform's: + create, ~ update,
// - delete.
type Change struct {
	Action   string `json:"action"` // create, update, delete
	Resource string `json:"resource"`
	Name     string `json:"name"`
	Detail   string `json:"detail,omitempty"`
}

// The resources a fleet file becomes, named as AWS names them: each
// service is a launch template (what an instance is made from), an Auto
// Scaling group (how many) and a target group (the balancer in front).
const (
	ResourceFleet          = "fleet"
	ResourceLaunchTemplate = "launch-template"
	ResourceGroup          = "group"
	ResourceTargetGroup    = "target-group"
	ResourceLoadBalancer   = "load-balancer"
)

// Change actions.
const (
	Create = "create"
	Update = "update"
	Delete = "delete"
)

func (c Change) String() string {
	sign := map[string]string{Create: "+", Update: "~", Delete: "-"}[c.Action]
	s := fmt.Sprintf("%s %s %s", sign, c.Resource, c.Name)
	if c.Detail != "" {
		s += ": " + c.Detail
	}
	return s
}

// ScaleRequest sets desired counts; all or nothing.
type ScaleRequest struct {
	Counts map[string]int `json:"counts"`
}

// DownRequest takes a fleet down.
type DownRequest struct {
	// Grace is each guest's time to shut down before it is destroyed.
	Grace time.Duration `json:"grace"`
}

// FleetSummary is one line of `vmfleet ls`.
type FleetSummary struct {
	Name      string           `json:"name"`
	File      string           `json:"file"`
	TimeScale float64          `json:"time_scale"`
	Down      bool             `json:"down,omitempty"`
	Services  []ServiceSummary `json:"services"`
}

// ServiceSummary is a service in a fleet listing.
type ServiceSummary struct {
	Name      string `json:"name"`
	Desired   int    `json:"desired"`
	InService int    `json:"in_service"`
	Listen    string `json:"listen"`
	// Warm is how many instances are ready in the warm pool, of PoolSize
	// it should hold; both 0 without a pool.
	Warm     int `json:"warm"`
	PoolSize int `json:"pool_size"`
}

// Fleet is a fleet's status: what `up` waits on and `ps` shows.
type Fleet struct {
	Name string `json:"name"`
	File string `json:"file"`
	// TimeScale multiplies every AWS period the fleet runs.
	TimeScale float64   `json:"time_scale"`
	Down      bool      `json:"down"`
	Services  []Service `json:"services"`
}

// Service is one service (an Auto Scaling group and its target group).
type Service struct {
	Name      string     `json:"name"`
	Image     string     `json:"image"`
	Digest    string     `json:"digest"`
	Listen    string     `json:"listen"`
	Desired   int        `json:"desired"`
	InService int        `json:"in_service"`
	Instances []Instance `json:"instances"`
	// LaunchError is set when launches fail for a reason retrying cannot
	// cure (bad settings, permissions): `up` fails at once with it.
	LaunchError string `json:"launch_error,omitempty"`
	// RefreshFailures counts the instances of the group's instance refresh
	// in progress (or its rollback) that failed to launch or to stay
	// healthy; the daemon fails the refresh at limits.RefreshFailures.
	RefreshFailures *RefreshFailures `json:"refresh_failures,omitempty"`
	// The group's bounds and each instance's caps.
	Min         int     `json:"min"`
	Max         int     `json:"max"`
	CPU         float64 `json:"cpu"`
	MemoryBytes int64   `json:"memory_bytes"`
	// WarmPool is the service's warm pool (nil for none); Warm counts its
	// instances that are ready (in a Warmed: state other than Pending).
	WarmPool *WarmPool `json:"warm_pool,omitempty"`
	Warm     int       `json:"warm"`
	// Policies are the group's target tracking policies.
	Policies []Policy `json:"policies,omitempty"`
}

// Policy is a target tracking policy: keep Metric (autoscale's names,
// like cpu_utilization) near Target.
type Policy struct {
	Metric string  `json:"metric"`
	Target float64 `json:"target"`
}

// SizeOrZero is the pool's size, 0 for no pool.
func (w *WarmPool) SizeOrZero() int {
	if w == nil {
		return 0
	}
	return w.Size
}

// WarmPool is a service's warm pool as DescribeWarmPool gives it.
type WarmPool struct {
	MinSize                  int    `json:"min_size"`
	MaxGroupPreparedCapacity int    `json:"max_group_prepared_capacity"`
	PoolState                string `json:"pool_state"`
	ReuseOnScaleIn           bool   `json:"reuse_on_scale_in"`
	// Size is how many instances the pool holds at the current desired
	// count, once filled.
	Size int `json:"size"`
}

// Instance is one instance as its fleet's controller sees it.
type Instance struct {
	ID       string `json:"id"`
	Domain   string `json:"domain"`
	Address  string `json:"address"`
	Phase    string `json:"phase"`
	Health   string `json:"health"`
	Outdated bool   `json:"outdated,omitempty"`
	Console  string `json:"console"`
	// Protected is scale-in protection (SetInstanceProtection).
	Protected bool `json:"protected,omitempty"`
}

// Ready reports whether every service has its desired count in service,
// all of the current launch template.
func (f Fleet) Ready() bool {
	if len(f.Services) == 0 {
		return false
	}
	for _, s := range f.Services {
		if s.Current() < s.Desired {
			return false
		}
	}
	return true
}

// Current counts the instances in service on the current template.
func (s Service) Current() int {
	n := 0
	for _, i := range s.Instances {
		if i.Phase == InService && !i.Outdated {
			n++
		}
	}
	return n
}

// Event is something a controller did or saw: the activity history.
type Event struct {
	// ID orders the history and survives a restart: microseconds since
	// the epoch, made unique, so a reader resuming after an ID (an SSE
	// Last-Event-ID) misses nothing even when the daemon crashed before
	// keeping its newest events.
	ID       int64     `json:"id,omitempty"`
	Time     time.Time `json:"time"`
	Fleet    string    `json:"fleet,omitempty"`
	Service  string    `json:"service,omitempty"`
	Instance string    `json:"instance,omitempty"`
	Kind     string    `json:"kind"`
	Message  string    `json:"message,omitempty"`
}

// RefreshFailures counts the failed instances of one instance refresh,
// or of its rollback: Of is the refresh's id and status.
type RefreshFailures struct {
	Of    string `json:"of"`
	Count int    `json:"count"`
}

func (e Event) String() string {
	who := e.Service
	if who == "" {
		who = "fleet"
		if e.Fleet != "" {
			who = e.Fleet
		}
	}
	if e.Instance != "" {
		who += "/" + e.Instance
	}
	s := fmt.Sprintf("%s %-10s %s", e.Time.Local().Format("15:04:05.000"), e.Kind, who)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// InstanceRow is an instance as `ps` lists it: what libvirt knows, plus
// health and phase from its fleet's controller.
type InstanceRow struct {
	ID          string    `json:"id"`
	Domain      string    `json:"domain"`
	Service     string    `json:"service"`
	Fleet       string    `json:"fleet,omitempty"`
	Image       string    `json:"image"`
	ImageDigest string    `json:"image_digest"`
	State       string    `json:"state"`
	Address     string    `json:"address,omitempty"`
	HostPort    int       `json:"host_port,omitempty"`
	GuestPort   int       `json:"guest_port,omitempty"`
	Console     string    `json:"console"`
	Dir         string    `json:"dir"`
	Created     time.Time `json:"created"`
	Health      string    `json:"health"`
	Phase       string    `json:"phase,omitempty"`
	Protected   bool      `json:"protected,omitempty"`
	// What the guest may reach besides its dependencies' balancers.
	EgressHostPorts []int `json:"egress_host_ports,omitempty"`
	Internet        bool  `json:"internet,omitempty"`
	// Snapshot is the key of the snapshot the instance was restored from;
	// empty when it booted its kernel.
	Snapshot string `json:"snapshot,omitempty"`
	// LaunchTemplate is the launch template version the instance was
	// launched from, "name:version"; empty for a `run` instance.
	LaunchTemplate string `json:"launch_template,omitempty"`
	// InstanceType and Tags are what EC2 gave a standalone instance
	// (RunInstances, CreateTags); a group's instances have their group's.
	InstanceType string            `json:"instance_type,omitempty"`
	Tags         map[string]string `json:"tags,omitempty"`
}

// ProtectRequest sets an instance's scale-in protection.
type ProtectRequest struct {
	Protected bool `json:"protected"`
}

// Fault actions, as `vmfleet fault` names them. All but kill last a
// while and are undone when it ends; libvirtd is the host's, the others
// an instance's.
const (
	FaultKill      = "kill"      // kill -9 of the instance's QEMU: a crash
	FaultPause     = "pause"     // its vCPUs stopped for a while: a hang
	FaultCPU       = "cpu"       // a busy loop on each of its vCPUs
	FaultUnhealthy = "unhealthy" // its health checks fail
	FaultNetwork   = "network"   // its NIC's link down
	FaultLibvirtd  = "libvirtd"  // the host's libvirtd stopped (SIGSTOP)
)

// FaultRequest injects one fault into an instance or the host, as AWS
// Fault Injection Service does; Seconds bounds all but a kill.
type FaultRequest struct {
	Action  string `json:"action"`
	Seconds int    `json:"seconds,omitempty"`
}

// Fault is a fault injected: Until is when it is undone; Instance is
// empty for the host's.
type Fault struct {
	Instance string     `json:"instance,omitempty"`
	Action   string     `json:"action"`
	Until    *time.Time `json:"until,omitempty"`
}
