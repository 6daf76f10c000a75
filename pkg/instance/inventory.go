package instance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

// List returns every vmfleet instance libvirt knows, newest last.
func (m *Manager) List(ctx context.Context) ([]*Instance, error) {
	return m.list(ctx, false)
}

// Spares lists the spares (Prepare's), which List leaves out.
func (m *Manager) Spares(ctx context.Context) ([]*Instance, error) {
	return m.list(ctx, true)
}

// Known lists the instances from the listing the hypervisor keeps when it
// keeps one (a hypervisor.Inventory), without waiting on libvirtd: what
// ps shows. Otherwise it is List.
func (m *Manager) Known(ctx context.Context) ([]*Instance, error) {
	k, ok := m.HV.(interface {
		Known(context.Context) ([]hypervisor.Domain, error)
	})
	if !ok {
		return m.List(ctx)
	}
	doms, err := k.Known(ctx)
	if err != nil {
		return nil, err
	}
	return m.instancesOf(doms, false), nil
}

func (m *Manager) list(ctx context.Context, spares bool) ([]*Instance, error) {
	doms, err := m.HV.Domains(ctx)
	if err != nil {
		return nil, err
	}
	return m.instancesOf(doms, spares), nil
}

// instancesOf are the instances (or the spares) among doms, oldest first.
func (m *Manager) instancesOf(doms []hypervisor.Domain, spares bool) []*Instance {
	var out []*Instance
	for _, d := range doms {
		md, err := parseMetadata(d.Metadata)
		if err != nil {
			m.log().Warn("skipping domain with unreadable metadata", "domain", d.Name, "err", err)
			continue
		}
		if md.Spare == spares {
			out = append(out, instanceOf(d, md))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// instanceOf is the instance a domain and its metadata describe
// (metadataOf's inverse).
func instanceOf(d hypervisor.Domain, md *metadata) *Instance {
	inst := &Instance{
		ID: md.ID, Domain: d.Name, Service: md.Service, Fleet: md.Fleet, Image: md.ImageName,
		ImageDigest: md.ImageDigest, Template: md.Template, State: d.State, HostPort: md.HostPort, GuestPort: md.GuestPort,
		Dir: md.Dir, Console: filepath.Join(md.Dir, "console.log"), Created: md.Created, Reach: md.Reach, Snapshot: md.Snapshot, cpuQuota: md.CPUQuota, Pool: md.Pool,
		ProtectedFromScaleIn: md.Protected, Standby: md.Standby, InstanceType: md.InstanceType, Tags: md.Tags, Lifecycle: md.Lifecycle,
	}
	if md.HostPort != 0 {
		inst.Address = fmt.Sprintf("127.0.0.1:%d", md.HostPort)
	}
	return inst
}

// ErrNoInstance is returned for an id or domain name no instance has.
var ErrNoInstance = errors.New("no such instance")

// Get finds an instance by id or domain name.
func (m *Manager) Get(ctx context.Context, ref string) (*Instance, error) {
	all, err := m.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, i := range all {
		if i.ID == ref || i.Domain == ref {
			return i, nil
		}
	}
	return nil, fmt.Errorf("%w %q; see vmfleet ps", ErrNoInstance, ref)
}

// Terminate stops an instance and removes its domain, overlay and log.
// With a grace period the guest is asked to shut down first (ACPI power
// button: the service gets SIGTERM) and destroyed only if it is still
// running when the grace period ends.
func (m *Manager) Terminate(ctx context.Context, inst *Instance, grace time.Duration) error {
	if err := m.halt(ctx, inst, grace); err != nil {
		return fmt.Errorf("terminate %s: %w", inst.ID, err)
	}
	if err := m.HV.Undefine(ctx, inst.Domain); err != nil {
		return fmt.Errorf("terminate %s: %w", inst.ID, err)
	}
	if m.ownsDir(inst.Dir) {
		if err := os.RemoveAll(inst.Dir); err != nil {
			return fmt.Errorf("terminate %s: %w", inst.ID, err)
		}
	}
	m.log().Info("terminated", "instance", inst.ID, "service", inst.Service)
	return nil
}

// halt ends the instance's QEMU; with a grace period the guest is asked
// to shut down first and destroyed only if it is still running at its end.
func (m *Manager) halt(ctx context.Context, inst *Instance, grace time.Duration) error {
	m.forgetBurst(inst.Domain)
	if grace > 0 && inst.State == hypervisor.Running {
		if err := m.HV.Shutdown(ctx, inst.Domain); err == nil {
			m.waitStopped(ctx, inst.Domain, grace)
		}
	}
	return m.destroy(ctx, inst.Domain)
}

// destroy ends the domain's QEMU at once, and what the manager keeps for
// a running QEMU: its burst and, once it is gone, its firewall rules.
func (m *Manager) destroy(ctx context.Context, domain string) error {
	// A check that listed it running must not give back the rules its end
	// removes.
	defer m.admitting.begin(domain)()
	m.forgetBurst(domain)
	if err := m.HV.Destroy(ctx, domain); err != nil {
		return err
	}
	m.ended(ctx, domain)
	return nil
}

// Owns says whether inst lives in this manager's directory: a daemon
// adopts and lists only its own home's instances.
func (m *Manager) Owns(inst *Instance) bool { return m.ownsDir(inst.Dir) }

// ownsDir says whether dir is an instance directory directly under m.Dir,
// so that metadata pointing elsewhere never gets anything else deleted.
func (m *Manager) ownsDir(dir string) bool {
	if dir == "" {
		return false
	}
	own, err1 := filepath.Abs(m.Dir)
	abs, err2 := filepath.Abs(dir)
	return err1 == nil && err2 == nil && filepath.Dir(abs) == own
}

func (m *Manager) waitStopped(ctx context.Context, domain string, grace time.Duration) {
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		doms, err := m.HV.Domains(ctx)
		if err != nil {
			return
		}
		running := false
		for _, d := range doms {
			if d.Name == domain && d.State != hypervisor.Shutoff {
				running = true
			}
		}
		if !running {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}
