// Package instance is one service instance's lifecycle: a qcow2 overlay on
// its image, a libvirt domain with CPU and memory caps, a console log and a
// port forwarded to 127.0.0.1. Launch and Terminate leave nothing behind.
package instance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/image"
	"github.com/vmfleet/vmfleet/pkg/imds"
	"github.com/vmfleet/vmfleet/pkg/limits"
	"github.com/vmfleet/vmfleet/pkg/snapshot"
)

// Sizing; what an instance may ask for is in package limits.
const (
	// qemuOverhead is QEMU's own memory on top of guest RAM: the hard limit
	// covers the whole process, so without it QEMU would be OOM-killed.
	// Measured under TCG (vmfleet stats): a booted 128 MiB guest's QEMU has
	// about 245 MiB resident, so QEMU itself takes ~120 MiB before its
	// translation cache (up to tbCacheMiB) fills.
	qemuOverhead = 256 << 20
	// tbCacheMiB bounds TCG's translation cache (counted in the overhead).
	// A smaller cache saves resident memory (about 20 MiB per guest at 32,
	// 38 at 16) but a busy guest retranslates: in BenchmarkTranslationCache
	// its p99 rose by a sixth at 32 and by 35-70 % at 16, which also lost
	// 9 % of its requests a second in one run of two. Kept.
	tbCacheMiB = 64
	cpuPeriod  = 100000 // µs, the cgroup default; limits.MinCPU assumes it
	// Cmdline keeps the kernel quiet (under TCG every console byte costs)
	// and its idle timers few, each an interrupt QEMU emulates: the TSC
	// needs no clocksource watchdog (two reads of the emulated HPET a
	// second), nor the kernel a soft-lockup watchdog (on a loaded host an
	// emulated vCPU stalls without being locked up).
	Cmdline = "console=ttyS0 quiet panic=-1 rdinit=/init tsc=reliable nowatchdog"
	// QBoot is QEMU's minimal firmware for direct kernel boot (Debian's
	// qemu-system-data ships it); used when present, else SeaBIOS.
	QBoot = "/usr/share/qemu/qboot.rom"
)

// MemoryLimit is the cgroup hard limit of an instance with guest RAM
// memory: the whole QEMU process, guest RAM and QEMU itself.
func MemoryLimit(memory int64) int64 { return memory + qemuOverhead }

// tbCache is the translation cache's size: VMFLEET_TB_CACHE_MIB (1 to
// tbCacheMiB, which the memory overhead allows for; for benchmarks),
// else tbCacheMiB.
func tbCache() uint {
	if v, err := strconv.ParseUint(os.Getenv("VMFLEET_TB_CACHE_MIB"), 10, 0); err == nil && v >= 1 && v <= tbCacheMiB {
		return uint(v)
	}
	return tbCacheMiB
}

// firmware picks the BIOS: VMFLEET_FIRMWARE (empty for QEMU's default
// SeaBIOS), else qboot where it is installed.
func firmware() string {
	if v, ok := os.LookupEnv("VMFLEET_FIRMWARE"); ok {
		return v
	}
	if _, err := os.Stat(QBoot); err == nil {
		return QBoot
	}
	return ""
}

// Options are what `vmfleet run` (or the fleet controller) asks for.
type Options struct {
	Image       *image.Manifest
	Service     string // defaults to the image name
	Fleet       string
	CPU         float64 // cores; default limits.DefaultCPU
	MemoryBytes int64   // guest RAM; default limits.DefaultMemory
	HostPort    int     // 0: a free port
	Env         []string
	StopTimeout time.Duration // the service's grace after SIGTERM in the guest; default limits.DefaultStopTimeout
	// Template names the launch template version the instance was made
	// from, so a controller can tell outdated instances after a restart.
	Template string
	// HostPorts are the host ports (on 127.0.0.1) the guest may reach, at
	// the user network's host address (10.0.2.2): its dependencies'
	// balancers and the host ports it opted into. Nothing else on the host
	// is reachable.
	HostPorts []int
	// Internet lets the guest reach the outside network.
	Internet bool
	// UserData is what the guest reads at /latest/user-data; nil for none.
	UserData []byte
	// MetadataOptions are how the guest's metadata service answers.
	MetadataOptions imds.MetadataOptions
	// ColdBoot boots the kernel even where a snapshot could be restored.
	ColdBoot bool
	// Pool is the warm pool state the instance is made for (see
	// limits.PoolStates); empty for one in its group.
	Pool string
	// InstanceType and Tags are what EC2 says of a standalone instance
	// (RunInstances): kept in its metadata, its type told by IMDS.
	InstanceType string
	Tags         []Tag
}

// Instance is one running (or stopped) service instance.
type Instance struct {
	ID          string           `json:"id"`
	Domain      string           `json:"domain"`
	Service     string           `json:"service"`
	Fleet       string           `json:"fleet,omitempty"`
	Image       string           `json:"image"`
	ImageDigest string           `json:"image_digest"`
	Template    string           `json:"template,omitempty"`
	State       hypervisor.State `json:"state"`
	Address     string           `json:"address,omitempty"` // 127.0.0.1:PORT
	HostPort    int              `json:"host_port,omitempty"`
	GuestPort   int              `json:"guest_port,omitempty"`
	// Reach is what the guest may open connections to.
	Reach Reach `json:"reach"`
	// Snapshot is the key of the snapshot the instance was restored from;
	// empty when it booted its kernel.
	Snapshot string `json:"snapshot,omitempty"`
	// Pool is the warm pool state it waits in; empty in its group.
	Pool string `json:"pool,omitempty"`
	// ProtectedFromScaleIn keeps a scale-in from picking the instance.
	ProtectedFromScaleIn bool `json:"protected_from_scale_in,omitempty"`
	// Standby: EnterStandby took it out of its group's balancer and count.
	Standby bool `json:"standby,omitempty"`
	// Lifecycle is the lifecycle action holding it; nil for none.
	Lifecycle *LifecycleWait `json:"lifecycle,omitempty"`
	// InstanceType and Tags are a standalone instance's, as EC2 has them.
	InstanceType string `json:"instance_type,omitempty"`
	Tags         []Tag  `json:"tags,omitempty"`
	Console      string `json:"console"`
	// cpuQuota is the cap a burst returns to (0: uncapped).
	cpuQuota int64
	Dir      string    `json:"dir"`
	Created  time.Time `json:"created"`
}

// Manager launches and terminates instances on one hypervisor, keeping
// their disks and logs under Dir.
type Manager struct {
	HV  hypervisor.Hypervisor
	Dir string
	Log *slog.Logger
	// Snapshots, when set, restores instances from a snapshot of their
	// shape instead of booting them (see Options.ColdBoot).
	Snapshots *snapshot.Store
	// NoBurst starts instances at their cap instead of bursting.
	NoBurst bool
	// Firewall holds guests whose network is open (dependencies, egress)
	// to what they may reach; without one, such guests are refused.
	Firewall Firewall

	bursts    bursts
	admitting admitting
}

func (m *Manager) log() *slog.Logger {
	if m.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return m.Log
}

func (o *Options) defaults() error {
	if o.Image == nil {
		return errors.New("no image")
	}
	subject := fmt.Sprintf("service name %q", o.Service)
	if o.Service == "" {
		o.Service = o.Image.Name
		subject = fmt.Sprintf("service name %q (the image's; give another with --service)", o.Service)
	}
	if err := limits.CheckName(o.Service); err != nil {
		return fmt.Errorf("%s %w", subject, err)
	}
	if o.CPU == 0 {
		o.CPU = limits.DefaultCPU
	}
	if err := limits.CheckCPU(o.CPU); err != nil {
		return fmt.Errorf("--cpu %g %w", o.CPU, err)
	}
	if o.MemoryBytes == 0 {
		o.MemoryBytes = limits.DefaultMemory
	}
	if err := limits.CheckMemory(o.MemoryBytes); err != nil {
		return fmt.Errorf("--memory %s %w", limits.FormatSize(o.MemoryBytes), err)
	}
	if fi, err := os.Stat(o.Image.Initrd); err == nil {
		if err := limits.CheckMemoryForInitramfs(o.MemoryBytes, fi.Size()); err != nil {
			return fmt.Errorf("--memory %s %w", limits.FormatSize(o.MemoryBytes), err)
		}
	}
	if o.HostPort != 0 {
		if err := limits.CheckPort(o.HostPort); err != nil {
			return fmt.Errorf("--host-port %d %w, or 0 for a free one", o.HostPort, err)
		}
	}
	if o.HostPort != 0 && o.Image.Port == 0 {
		return fmt.Errorf("--host-port %d: image %s has no service port to forward to; bake it with --port", o.HostPort, o.Image.Name)
	}
	for _, p := range o.HostPorts {
		if err := limits.CheckPort(p); err != nil {
			return fmt.Errorf("--egress-host-port %d %w", p, err)
		}
	}
	if o.StopTimeout == 0 {
		o.StopTimeout = limits.DefaultStopTimeout
	}
	return image.ParseEnv(o.Env)
}

// newID makes an EC2-style instance id.
func newID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "i-" + hex.EncodeToString(b)
}

// DomainName is the libvirt domain of an instance: vmfleet-[FLEET-]SERVICE-ID,
// so `virsh list` reads like `docker ps`.
func DomainName(fleet, service, id string) string {
	if fleet != "" {
		return "vmfleet-" + fleet + "-" + service + "-" + id
	}
	return "vmfleet-" + service + "-" + id
}

// ErrInvalid marks launch options that can never launch: retrying with
// the same options cannot help.
var ErrInvalid = errors.New("invalid launch options")

// invalid keeps the options' own message and marks it ErrInvalid.
type invalid struct{ error }

func (e invalid) Unwrap() []error { return []error{e.error, ErrInvalid} }

// Permanent reports whether a launch error is one retrying cannot cure:
// bad options, or a file QEMU is not allowed to open.
func Permanent(err error) bool {
	return errors.Is(err, ErrInvalid) || errors.Is(err, os.ErrPermission) ||
		strings.Contains(err.Error(), "Permission denied")
}

// Launch boots a new instance. On any failure everything it made is
// removed again: domain, overlay, log directory.
func (m *Manager) Launch(ctx context.Context, o Options) (*Instance, error) {
	return m.make(ctx, o, true)
}

// Define makes an instance's disk, config and libvirt domain without
// booting it: a stopped instance, as `virsh list --all` shows it.
func (m *Manager) Define(ctx context.Context, o Options) (*Instance, error) {
	return m.make(ctx, o, false)
}

func (m *Manager) make(ctx context.Context, o Options, boot bool) (inst *Instance, err error) {
	if err := o.defaults(); err != nil {
		return nil, invalid{err}
	}
	accel, _, err := m.HV.Accel(ctx)
	if err != nil {
		return nil, err
	}
	if o.HostPort != 0 {
		if err := portFree(o.HostPort); err != nil {
			return nil, invalid{err}
		}
	}
	inst, err = m.create(ctx, o)
	if err != nil {
		return nil, err
	}
	defined := false
	defer func() {
		if err != nil {
			m.discard(ctx, inst, defined)
			inst = nil
		}
	}()
	// The host port goes into the metadata, so it is chosen before define.
	if err := pickPort(inst, o); err != nil {
		return inst, err
	}
	if !boot {
		su, err := m.setup(accel, o, inst)
		if err != nil {
			return inst, err
		}
		if err := su.writeConfig(); err != nil {
			return inst, err
		}
		if err := su.define(ctx, m.HV); err != nil {
			return inst, err
		}
		defined = true
		inst.State = hypervisor.Shutoff
		return inst, nil
	}
	defined = true // boot defines it first thing; a failure undefines it
	return inst, m.start(ctx, accel, o, inst)
}

// create makes a new instance's directory and its disk: an overlay on
// the image's.
func (m *Manager) create(ctx context.Context, o Options) (*Instance, error) {
	// libvirtd resolves the disk, log and config paths in its own working
	// directory, not ours.
	dir, err := filepath.Abs(m.Dir)
	if err != nil {
		return nil, fmt.Errorf("instances directory %s: %w", m.Dir, err)
	}
	id := newID()
	inst := &Instance{
		ID: id, Domain: DomainName(o.Fleet, o.Service, id), Service: o.Service, Fleet: o.Fleet,
		Image: o.Image.Name, ImageDigest: o.Image.Digest, GuestPort: o.Image.Port, Template: o.Template,
		Dir: filepath.Join(dir, id), Created: time.Now().UTC().Truncate(time.Second),
	}
	inst.Console = filepath.Join(inst.Dir, "console.log")
	if err := os.MkdirAll(inst.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("launch %s: %w", id, err)
	}
	if out, err := exec.CommandContext(ctx, "qemu-img", "create", "-q", "-f", "qcow2", "-b", o.Image.Disk, "-F", "qcow2", overlayOf(inst)).CombinedOutput(); err != nil {
		_ = os.RemoveAll(inst.Dir)
		return nil, fmt.Errorf("launch %s: create overlay: %v: %s", id, err, strings.TrimSpace(string(out)))
	}
	return inst, nil
}

// pickPort sets the host port the instance's service is forwarded from:
// the one asked for, or a free one.
func pickPort(inst *Instance, o Options) error {
	if o.Image.Port == 0 {
		return nil
	}
	inst.HostPort = o.HostPort
	if inst.HostPort == 0 {
		var err error
		if inst.HostPort, err = freePort(); err != nil {
			return err
		}
	}
	inst.Address = fmt.Sprintf("127.0.0.1:%d", inst.HostPort)
	return nil
}

// discard removes what making inst left, after a failure: its domain
// (if defined), its directory.
func (m *Manager) discard(ctx context.Context, inst *Instance, defined bool) {
	cleanup := context.WithoutCancel(ctx)
	if defined {
		_ = m.destroy(cleanup, inst.Domain)
		_ = m.HV.Undefine(cleanup, inst.Domain)
	}
	_ = os.RemoveAll(inst.Dir)
}
