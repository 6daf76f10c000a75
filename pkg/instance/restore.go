package instance

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/vmfleet/vmfleet/pkg/agent"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/snapshot"
)

// wakeLimit bounds how long a restored guest may take to answer its wake.
const wakeLimit = 30 * time.Second

// seedBytes of fresh entropy go to each restored guest.
const seedBytes = 64

// shapeOf is the machine an instance with these options runs on (but for
// the QEMU version, which snapshotFor asks for only when it needs it).
func shapeOf(accel hypervisor.Accel, o Options) snapshot.Shape {
	return snapshot.Shape{
		Kernel: o.Image.Kernel, Initrd: o.Image.Initrd, Cmdline: Cmdline, Accel: accel, Firmware: firmware(),
		VCPUs: uint(math.Ceil(o.CPU)), MemoryMiB: uint(o.MemoryBytes >> 20),
	}
}

// domainSpec is an instance's domain: its machine's, with the caps and
// network of its options.
func domainSpec(shape snapshot.Shape, o Options, name, disk, console string) *hypervisor.DomainSpec {
	spec := SnapshotSpec(shape, name, disk, console)
	spec.CPUQuota = quota(o.CPU)
	spec.OpenNetwork = openNetwork(o)
	return spec
}

// SnapshotSpec is the domain of a machine of a shape, uncapped; instances
// and the snapshots they are restored from are both made from it, so
// their devices match.
func SnapshotSpec(shape snapshot.Shape, name, disk, console string) *hypervisor.DomainSpec {
	return &hypervisor.DomainSpec{
		Name: name, Accel: shape.Accel, VCPUs: shape.VCPUs, MemoryMiB: shape.MemoryMiB, CPUPeriod: cpuPeriod,
		Firmware: shape.Firmware, Kernel: shape.Kernel, Initrd: shape.Initrd, Cmdline: shape.Cmdline,
		Disk: disk, ConsoleLog: console, TBCacheMiB: tbCache(),
		Agent: agent.PortName,
	}
}

// snapshotFor finds (or captures) the snapshot of a machine.
func (m *Manager) snapshotFor(ctx context.Context, shape snapshot.Shape) (*snapshot.Template, error) {
	var err error
	if shape.QEMU, err = m.HV.Version(ctx); err != nil {
		return nil, err
	}
	return m.Snapshots.Get(ctx, shape)
}

// loadFile loads a saved state (a snapshot's, or the instance's own
// hibernated memory) into the domain, started paused and waiting.
func (m *Manager) loadFile(ctx context.Context, domain, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("restore %s: %w", domain, err)
	}
	defer f.Close()
	return m.HV.LoadState(ctx, domain, f)
}

// wake hands the restored, running guest the time, its own entropy and
// its config; it then reads its own disk.
func (m *Manager) wake(ctx context.Context, domain string, cfg []byte) error {
	sock, w, err := m.wakeOf(ctx, domain, agent.Wake{Config: cfg})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, wakeLimit)
	defer cancel()
	if err := agent.WakeClone(ctx, sock, w); err != nil {
		return fmt.Errorf("launch %s: %w", domain, err)
	}
	return nil
}

// wakeOf finds the guest's agent socket and gives w the time and fresh
// entropy.
func (m *Manager) wakeOf(ctx context.Context, domain string, w agent.Wake) (string, agent.Wake, error) {
	sock, err := m.HV.AgentSocket(ctx, domain, agent.PortName)
	if err != nil {
		return "", w, err
	}
	w.Seed = make([]byte, seedBytes)
	if _, err := rand.Read(w.Seed); err != nil {
		return "", w, err
	}
	w.Time = time.Now()
	return sock, w, nil
}

// stage wakes a restored spare for as far as its disk and network take
// it (cfg stands in for the config of the instance it will be), waits
// until it waits for its next wake, and pauses it there.
func (m *Manager) stage(ctx context.Context, domain string, cfg []byte) error {
	if err := m.HV.Resume(ctx, domain); err != nil {
		return err
	}
	sock, w, err := m.wakeOf(ctx, domain, agent.Wake{Config: cfg, Stage: true})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, wakeLimit)
	defer cancel()
	conn, err := agent.StageClone(ctx, sock, w)
	if err != nil {
		return fmt.Errorf("stage %s: %w", domain, err)
	}
	// Closed once paused, so the paused guest waits on its read.
	defer conn.Close()
	return m.HV.Pause(ctx, domain)
}
