package instance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

// A spare is an instance made ahead of the launch that takes it: its
// domain defined and started, its shape's snapshot loaded, woken once to
// stage (load its disk's driver, mount its own disk, bring up its
// network, all the same for any instance of its kind) and paused where it
// waits for the wake that makes it one instance. Taking it is the last
// steps of a launch only (caps, forward, resume, wake with the clock,
// entropy and config): libvirt's start of a paused domain (about 0.6 s
// here, most of it libvirt reading the CPU's features one QMP call at a
// time), the load and the staged steps under a cold translation cache
// (about 0.45 s) are done.

// ErrNoSnapshot: a spare is restored from its shape's snapshot, and
// there is none to restore from (snapshots off, or cold boot asked for).
var ErrNoSnapshot = errors.New("no snapshot to restore a spare from")

// Prepare makes a spare for launches with options o; Take hands it
// over. No list shows it until then (Spares does).
func (m *Manager) Prepare(ctx context.Context, o Options) (inst *Instance, err error) {
	if err := o.defaults(); err != nil {
		return nil, invalid{err}
	}
	if m.Snapshots == nil || o.ColdBoot {
		return nil, ErrNoSnapshot
	}
	accel, _, err := m.HV.Accel(ctx)
	if err != nil {
		return nil, err
	}
	if inst, err = m.create(ctx, o); err != nil {
		return nil, err
	}
	defined := false
	defer func() {
		if err != nil {
			m.discard(ctx, inst, defined)
			inst = nil
		}
	}()
	su, err := m.setup(accel, o, inst)
	if err != nil {
		return inst, err
	}
	snap, err := m.snapshotFor(ctx, su.shape)
	if err != nil {
		return inst, fmt.Errorf("prepare a spare: %w", err)
	}
	su.md.Spare, su.md.Snapshot, inst.Snapshot = true, snap.Key, snap.Key
	if openNetwork(o) {
		if err := m.guard(ctx); err != nil {
			return inst, err
		}
	}
	su.spec.Incoming = true
	// fw_cfg needs a file at start; the config that counts comes with the
	// wake.
	if err := su.writeConfig(); err != nil {
		return inst, err
	}
	defer os.Remove(su.cfgPath)
	defined = true
	if err := su.define(ctx, m.HV); err != nil {
		return inst, err
	}
	if err := m.HV.Start(ctx, inst.Domain, true); err != nil {
		return inst, err
	}
	if openNetwork(o) {
		// Until it is taken it may reach no host port, but its kind's
		// internet: its staging brings its network up.
		if err := m.admit(ctx, inst.Domain, Reach{Internet: o.Internet}); err != nil {
			return inst, err
		}
	}
	if err := m.loadFile(ctx, inst.Domain, snap.State); err != nil {
		return inst, fmt.Errorf("prepare a spare: %w", err)
	}
	if err := m.HV.SetMemoryHardLimit(ctx, inst.Domain, MemoryLimit(o.MemoryBytes)); err != nil {
		return inst, err
	}
	if err := m.stage(ctx, inst.Domain, su.cfg); err != nil {
		return inst, fmt.Errorf("prepare a spare: %w", err)
	}
	inst.State = hypervisor.Paused
	return inst, nil
}

// Take makes the spare inst the instance of options o, which must
// match those it was prepared with in what its domain holds (SpareKey).
// On failure the spare is of no further use: terminate it.
func (m *Manager) Take(ctx context.Context, inst *Instance, o Options) error {
	if err := o.defaults(); err != nil {
		return invalid{err}
	}
	if o.HostPort != 0 {
		if err := portFree(o.HostPort); err != nil {
			return invalid{err}
		}
	}
	accel, _, err := m.HV.Accel(ctx)
	if err != nil {
		return err
	}
	begin := time.Now()
	inst.Created = begin.UTC().Truncate(time.Second)
	if err := pickPort(inst, o); err != nil {
		return err
	}
	su, err := m.setup(accel, o, inst)
	if err != nil {
		return err
	}
	su.md.Snapshot = inst.Snapshot
	// Its metadata names its reach from here; its rules come with admit.
	defer m.admitting.begin(inst.Domain)()
	x, err := su.md.marshal()
	if err != nil {
		return err
	}
	if err := m.HV.SetMetadata(ctx, inst.Domain, x); err != nil {
		return fmt.Errorf("take spare %s: %w", inst.ID, err)
	}
	if err := m.startBurst(ctx, inst.Domain, o.CPU); err != nil {
		return err
	}
	if o.Image.Port != 0 {
		if err := m.HV.ForwardPort(ctx, inst.Domain, inst.HostPort, o.Image.Port); err != nil {
			return err
		}
	}
	if openNetwork(o) {
		if err := m.admit(ctx, inst.Domain, inst.Reach); err != nil {
			return err
		}
	}
	if err := m.HV.Resume(ctx, inst.Domain); err != nil {
		return err
	}
	if err := m.wake(ctx, inst.Domain, su.cfg); err != nil {
		return err
	}
	inst.State = hypervisor.Running
	m.log().Info("started from a spare", "instance", inst.ID, "service", o.Service, "domain", inst.Domain,
		"address", inst.Address, "snapshot", inst.Snapshot, "woke", time.Since(begin).Round(time.Millisecond))
	return nil
}

// SpareKey is what a spare made for o can serve: the launches whose
// options lead to the same domain (image, service name, shape, caps and
// network, open or not). Env, egress ports and host port are handed over
// at Take.
func SpareKey(o Options) string {
	if o.Image == nil {
		return ""
	}
	_ = o.defaults() // on a copy: the service, cpu and memory launches get
	return fmt.Sprintf("fleet=%s/service=%s/template=%s/image=%s/cpu=%g/memory=%d/internet=%v/open=%v",
		o.Fleet, o.Service, o.Template, o.Image.Digest, o.CPU, o.MemoryBytes, o.Internet, openNetwork(o))
}
