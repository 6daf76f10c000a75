// Package hypervisor is everything that speaks to libvirt and QEMU: the
// connection (chosen like virsh chooses it), domain XML, define, start and
// destroy, lifecycle events, limits, and QEMU monitor commands. It is the one
// place with an interface for fakes: the rest of vmfleet talks to a
// Hypervisor.
package hypervisor

import (
	"context"
	"io"
	"time"
)

// Hypervisor is what vmfleet needs from libvirt.
type Hypervisor interface {
	// Accel says whether guests run under KVM or TCG, and why.
	Accel(ctx context.Context) (Accel, string, error)
	// Define makes a persistent domain from spec; it does not start it.
	Define(ctx context.Context, spec *DomainSpec) error
	// SetMetadata replaces a domain's vmfleet metadata element.
	SetMetadata(ctx context.Context, name, xml string) error
	// Create starts a transient domain, one libvirt forgets when it stops.
	Create(ctx context.Context, spec *DomainSpec, paused bool) error
	// Start boots a defined domain, paused if asked (so limits and port
	// forwards are in place before the guest runs).
	Start(ctx context.Context, name string, paused bool) error
	Resume(ctx context.Context, name string) error
	// Pause stops a running domain's vCPUs; Resume runs them again.
	Pause(ctx context.Context, name string) error
	// SetCPUQuota sets the running domain's CPU quota (µs of CPU per
	// period, for the whole domain); the persistent definition keeps its own.
	SetCPUQuota(ctx context.Context, name string, quota int64) error
	// SetMemoryHardLimit caps the running domain's whole QEMU process.
	SetMemoryHardLimit(ctx context.Context, name string, bytes int64) error
	// ForwardPort forwards 127.0.0.1:hostPort to the guest's guestPort on its
	// user-mode network.
	ForwardPort(ctx context.Context, name string, hostPort, guestPort int) error
	// Version is the version of QEMU libvirt drives: a saved state loads
	// only into the QEMU that saved it.
	Version(ctx context.Context) (string, error)
	// SaveState pauses the running domain and writes its whole state to
	// w, through a socket made in dir (which QEMU's user can enter).
	SaveState(ctx context.Context, name, dir string, w io.Writer) error
	// LoadState feeds a saved state into a domain started paused from a
	// spec with Incoming set; the domain stays paused.
	LoadState(ctx context.Context, name string, r io.Reader) error
	// Shutdown asks the guest to stop (ACPI power button).
	Shutdown(ctx context.Context, name string) error
	// Destroy stops the domain at once; a domain already stopped is fine.
	Destroy(ctx context.Context, name string) error
	// KillQEMU kills the running domain's QEMU with SIGKILL, as a crash
	// would: libvirt, not the caller, finds it gone (fault injection).
	KillQEMU(ctx context.Context, name string) error
	// SetLink sets the link of the running domain's NIC up or down, as
	// a cable plugged in or pulled out (fault injection): the guest sees
	// its carrier go, and nothing reaches it through its forwards.
	SetLink(ctx context.Context, name string, up bool) error
	// Undefine forgets the domain; one already gone is fine.
	Undefine(ctx context.Context, name string) error
	// Domains lists the domains that carry vmfleet metadata.
	Domains(ctx context.Context) ([]Domain, error)
	// AgentSocket is the unix socket behind the running domain's agent
	// port (DomainSpec.Agent), which libvirt names at start.
	AgentSocket(ctx context.Context, name, port string) (string, error)
	// Limits reads back the caps libvirt applied to a running domain.
	Limits(ctx context.Context, name string) (Limits, error)
	// PSS is the proportional set size of the running domain's QEMU, KiB.
	PSS(ctx context.Context, name string) (uint64, error)
	// QEMUProcess describes the running domain's QEMU: what the host's
	// firewall tells its connections by.
	QEMUProcess(ctx context.Context, name string) (Process, error)
	// Stats samples every running domain's CPU time and memory.
	Stats(ctx context.Context) (map[string]Stats, error)
	// Events streams domain lifecycle events until ctx ends.
	Events(ctx context.Context) (<-chan Event, error)
	Close() error
}

// Domain is a vmfleet domain as libvirt knows it.
type Domain struct {
	Name     string
	State    State
	Metadata string // the vmfleet metadata element
}

// State is a domain's run state.
type State string

const (
	Running  State = "running"
	Paused   State = "paused"
	Shutoff  State = "shutoff"
	Crashed  State = "crashed"
	Stopping State = "stopping"
	Other    State = "other"
)

// Process is a domain's QEMU process as the host sees it.
type Process struct {
	UID     int    // its filesystem uid, which owns the sockets it opens
	Cgroups string // its /proc/PID/cgroup
}

// Limits are the caps read back from libvirt.
type Limits struct {
	CPUPeriod          uint64
	CPUQuota           int64
	MemoryHardLimitKiB uint64
}

// Stats is one sample of a running domain's resource use.
type Stats struct {
	CPUTime   time.Duration // QEMU's CPU time so far, all vCPUs
	RSSKiB    uint64        // the QEMU process's resident memory
	MemoryKiB uint64        // guest RAM
	// GuestUsedKiB is the guest's memory in use (its total less what it
	// could still use, from the balloon's statistics); 0 when unknown.
	GuestUsedKiB uint64
	// Counters since the domain started: the guest's network (rx is what
	// it received) and disk bytes.
	NetRxBytes, NetTxBytes          uint64
	BlockReadBytes, BlockWriteBytes uint64
	Time                            time.Time // when the sample was taken
}

// CPUPercent is the CPU used between two samples of one domain, in percent
// of one core (200 is two cores busy), as docker stats shows it.
func CPUPercent(before, after Stats) float64 {
	wall := after.Time.Sub(before.Time)
	if wall <= 0 || after.CPUTime < before.CPUTime {
		return 0
	}
	return 100 * float64(after.CPUTime-before.CPUTime) / float64(wall)
}

// EventKind is what happened to a domain.
type EventKind string

const (
	EventStarted  EventKind = "started"
	EventStopped  EventKind = "stopped"
	EventCrashed  EventKind = "crashed"
	EventShutdown EventKind = "shutdown"
	EventOther    EventKind = "other"
)

// Event is a lifecycle event.
type Event struct {
	Domain string
	Kind   EventKind
	Detail int32
	Time   time.Time
}
