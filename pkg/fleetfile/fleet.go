// Package fleetfile reads and validates a vmfleet fleet file: a
// compose-like YAML file in which every service instance runs as its own
// VM behind a per-service load balancer (the "service instance per VM"
// pattern: image per service, VM per instance, balancer in front, a
// fixed instance count kept running).
//
// The package only turns bytes into plain, fully defaulted structs and
// reports every problem it finds with file, line and a suggested fix.
// It reads the env files a service names (env_file), since their
// variables are part of the service, but it does not check that other
// referenced files exist, and it starts nothing.
//
// A fleet file looks like this:
//
//	name: shop                       # optional; defaults to the directory name
//	time_scale: 0.05                 # optional; 1 runs AWS's own time
//	services:
//	  catalog:
//	    image:
//	      binary: ./bin/catalog      # or rootfs: ./catalog-rootfs.tar
//	      copy: ["./static:/srv/static"]
//	    command: ["/app/catalog", "-listen", ":8080"]
//	    env_file: [./common.env]     # KEY=VALUE lines; env overrides them
//	    env: {LOG_LEVEL: info}
//	    port: 8080                   # guest port the balancer sends to
//	    instances: 3
//	    cpu: 0.5                     # cores per instance
//	    memory: 256MiB               # guest RAM per instance
//	    health: {type: http, path: /healthz, interval: 10s, timeout: 5s}
//	    balancer: {listen: 127.0.0.1:8081, deregistration_delay: 30s}
//	  web:
//	    image: {binary: ./bin/web}
//	    command: ["/app/web"]
//	    port: 8080
//	    depends_on: [catalog]
//	    scaling:                     # the Auto Scaling group; optional
//	      min: 1
//	      max: 6
//	      instance_warmup: 60s
//	      target_tracking:
//	        - {metric: cpu_utilization, target: 50}
//	    warm_pool:                   # instances prepared for scale-out; optional
//	      min_size: 2
//	      pool_state: running        # or stopped (the default), hibernated
//	      reuse_on_scale_in: true
//
// Every period in the file (health interval and timeout, the health check
// grace period, deregistration delay, instance warm-up, and target
// tracking's one-minute datapoint) is written in AWS time, and the
// structs hold it so. When the fleet runs each is multiplied by
// time_scale with limits.Scaled, so the ratios between periods stay as
// AWS has them. The default, limits.DefaultTimeScale (0.05), brings
// AWS's 150 s for a target to go healthy down to 7.5 s. The one exception
// is the grace period, which must cover a VM's boot, and a boot does not
// get faster: see limits.ScaledGracePeriod.
//
// Top-level keys starting with "x-" are ignored, as in docker compose, so
// they can hold YAML anchors shared between services.
package fleetfile

import (
	"time"

	"github.com/vmfleet/vmfleet/pkg/health"
	"github.com/vmfleet/vmfleet/pkg/imds"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

// Fleet is a parsed, validated and defaulted fleet file.
type Fleet struct {
	// Name is the fleet's name, a name limits.CheckName accepts.
	Name string
	// File is the path the fleet was read from, as given to Load or Parse.
	File string
	// Dir is the directory relative paths were resolved against.
	Dir string
	// TimeScale multiplies every period in the file when the fleet runs,
	// limits.MinTimeScale..limits.MaxTimeScale. Parse sets
	// limits.DefaultTimeScale when the file gives none, so it is never 0
	// for a parsed file.
	TimeScale float64
	// Services in the order the file lists them.
	Services []*Service
}

// Service returns the named service, or nil if the fleet has none by that name.
func (f *Fleet) Service(name string) *Service {
	// A scan rather than a map keeps Fleet a plain struct that callers can
	// also build by hand; fleets are small.
	for _, s := range f.Services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// StartOrder returns the services so that each comes after everything it
// depends on; otherwise file order is kept. Parse rejects cycles, so for
// a parsed Fleet every service appears exactly once. For a hand-built
// Fleet with a cycle the order within the cycle is unspecified, and
// dependencies that name no service are ignored.
func (f *Fleet) StartOrder() []*Service {
	order := make([]*Service, 0, len(f.Services))
	seen := make(map[string]bool, len(f.Services))
	var visit func(s *Service)
	visit = func(s *Service) {
		if seen[s.Name] {
			return
		}
		// Mark before recursing so a cycle in a hand-built Fleet cannot
		// recurse forever.
		seen[s.Name] = true
		for _, d := range s.DependsOn {
			if dep := f.Service(d); dep != nil {
				visit(dep)
			}
		}
		order = append(order, s)
	}
	for _, s := range f.Services {
		visit(s)
	}
	return order
}

// Service is one service: an image run as Instances identical VMs behind
// one balancer.
type Service struct {
	// Name is a name limits.CheckName accepts.
	Name  string
	Image Image
	// Command is the guest's argv; never empty.
	Command []string
	// Env is extra guest environment: the variables of env_file's files,
	// later files overriding earlier ones, then env's over those. It is
	// nil when the file gives neither.
	Env map[string]string
	// Port is the guest port the balancer sends traffic and TCP health
	// checks to, limits.MinPort..limits.MaxPort.
	Port int
	// Instances is how many VMs to keep running, within Bounds; 0 is
	// allowed (scaled down). With Scaling and no instances in the file it
	// is Scaling.Min, as an Auto Scaling group's desired capacity defaults
	// to its MinSize.
	Instances int
	// CPU is cores per instance, limits.MinCPU..limits.MaxCPU; fractions
	// are allowed.
	CPU float64
	// MemoryBytes is guest RAM per instance, limits.MinMemory..limits.MaxMemory.
	MemoryBytes int64
	Health      health.Check // Timeout below Interval; both AWS time, scaled by Fleet.TimeScale
	Balancer    Balancer
	// DependsOn names services that must start first, in file order;
	// nil when none.
	DependsOn []string
	// Egress is what the instances may reach besides their dependencies.
	Egress Egress
	// UserData is what the instances read at the metadata service's
	// /latest/user-data, as an EC2 launch template's; "" for none.
	UserData string
	// MetadataOptions are how the instances' metadata service answers
	// (EC2's defaults unless metadata_options says otherwise).
	MetadataOptions imds.MetadataOptions
	// Scaling is the service's Auto Scaling group size and policies; nil
	// when the file gives none (see Bounds).
	Scaling *Scaling
	// WarmPool is the service's warm pool; nil for none.
	WarmPool *WarmPool
}

// Bounds returns the least and most instances the service may have:
// Scaling's Min and Max, or 0 and limits.MaxGroupSize without Scaling.
func (s *Service) Bounds() (lo, hi int) {
	if s.Scaling == nil {
		return 0, limits.MaxGroupSize
	}
	return s.Scaling.Min, s.Scaling.Max
}

// Scaling is a service's Auto Scaling group: the range its instance count
// stays in, by hand (scale) or by its target tracking policies.
type Scaling struct {
	// Min and Max are the group's MinSize and MaxSize:
	// 0 <= Min <= Max, 1 <= Max <= limits.MaxGroupSize.
	Min, Max int
	// InstanceWarmup is how long, in AWS time, a new instance's metrics
	// are left out of the group's (DefaultInstanceWarmup), 0..
	// limits.MaxInstanceWarmup; limits.DefaultInstanceWarmup when not
	// given.
	InstanceWarmup time.Duration
	// DisableScaleIn leaves scaling in to the user: policies only add
	// instances.
	DisableScaleIn bool
	// TargetTracking holds at most one policy per metric, in file order;
	// nil when none, and then only a manual scale changes the count.
	TargetTracking []TargetTracking
	// TerminationPolicies choose scale-in's instances, tried in order
	// (limits.TerminationPolicies); nil means Default.
	TerminationPolicies []string
}

// TargetTracking is a target tracking policy: the group is sized so that
// Metric stays near Target.
type TargetTracking struct {
	// Metric is one of limits.Metrics().
	Metric string
	// Target is above zero; for limits.MetricCPUUtilization a percentage
	// of the instance's CPU cap, at most limits.MaxCPUTarget. The counting
	// metrics count over one datapoint, a minute of AWS time.
	Target float64
}

// Image says what a service's VMs boot. Exactly one of Binary and Rootfs
// is set; both are absolute when the fleet file's path was.
type Image struct {
	// Binary is a host executable to wrap in a minimal root filesystem.
	Binary string
	// Rootfs is a host root filesystem archive to boot as is.
	Rootfs string
	// Copies are extra host files or directories placed into the image.
	Copies []Copy
}

// Copy places host path Src at guest path Dst.
type Copy struct {
	// Src is a host path, resolved against the fleet file's directory.
	Src string
	// Dst is an absolute, cleaned guest path.
	Dst string
}

// Balancer is the service's load balancer on the host.
type Balancer struct {
	// Listen is a host address "IP:port" (IPv6 in brackets). Port 0 means
	// a free port is chosen at `up`. "localhost" and a missing host are
	// written as 127.0.0.1.
	Listen string
	// DeregistrationDelay is how long, in AWS time, a leaving instance
	// keeps serving in-flight requests, 0..limits.MaxDeregistrationDelay.
	DeregistrationDelay time.Duration
	// Replay is whether a request whose instance closes the connection
	// before answering is replayed on the next instance. Off, such a
	// client sees its connection closed, and a request is never sent
	// twice: for services that must not process one twice.
	Replay bool
}
