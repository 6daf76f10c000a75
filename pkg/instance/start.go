package instance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"
	"github.com/vmfleet/vmfleet/pkg/guestconfig"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/snapshot"
)

// setup is everything starting one instance takes, worked out from its
// options; an instance started again gets the same.
type setup struct {
	inst    *Instance
	md      metadata
	spec    *hypervisor.DomainSpec
	shape   snapshot.Shape
	cfg     []byte
	cfgPath string
}

func overlayOf(inst *Instance) string { return filepath.Join(inst.Dir, "overlay.qcow2") }

// hibernationOf is where a hibernated instance's memory is kept.
func hibernationOf(inst *Instance) string { return filepath.Join(inst.Dir, "hibernation.state") }

// Hibernated reports whether the instance's memory waits in its directory.
func (inst *Instance) Hibernated() bool {
	_, err := os.Stat(hibernationOf(inst))
	return err == nil
}

func (m *Manager) setup(accel hypervisor.Accel, o Options, inst *Instance) (*setup, error) {
	env := append(append([]string{}, o.Image.Env...), "VMFLEET_INSTANCE_ID="+inst.ID, "VMFLEET_SERVICE="+o.Service)
	if o.Fleet != "" {
		env = append(env, "VMFLEET_FLEET="+o.Fleet)
	}
	env = append(env, o.Env...)
	gc := guestconfig.Config{
		Service: o.Service, InstanceID: inst.ID, Hostname: o.Service + "-" + strings.TrimPrefix(inst.ID, "i-"),
		Command: o.Image.Command, Env: env, StopTimeout: guestconfig.Duration(o.StopTimeout),
		Network: guestconfig.UserNetwork, Internet: o.Internet,
	}
	gc.Metadata = identity(inst, &gc, o)
	cfg, err := gc.Encode()
	if err != nil {
		return nil, err
	}
	su := &setup{inst: inst, cfg: cfg, cfgPath: filepath.Join(inst.Dir, "guest-config.json")}
	su.md = metadata{ID: inst.ID, Service: o.Service, Fleet: o.Fleet, ImageName: o.Image.Name, ImageDigest: o.Image.Digest,
		GuestPort: o.Image.Port, HostPort: inst.HostPort, Dir: inst.Dir, Created: inst.Created, Template: o.Template,
		Reach: Reach{HostPorts: o.HostPorts, Internet: o.Internet}, CPUQuota: quota(o.CPU), Pool: o.Pool,
		InstanceType: o.InstanceType, Tags: o.Tags}
	inst.Reach, inst.cpuQuota, inst.Pool, inst.InstanceType, inst.Tags = su.md.Reach, su.md.CPUQuota, o.Pool, o.InstanceType, o.Tags
	su.shape = shapeOf(accel, o)
	su.spec = domainSpec(su.shape, o, inst.Domain, overlayOf(inst), inst.Console)
	su.spec.FwCfg = map[string]string{guestconfig.FwCfgName: su.cfgPath}
	return su, nil
}

// writeConfig leaves the guest's config where QEMU reads it at start.
func (su *setup) writeConfig() error {
	if err := writeForQEMU(su.cfgPath, su.cfg, user.LookupGroup); err != nil {
		return fmt.Errorf("launch %s: %w", su.inst.ID, err)
	}
	return nil
}

func (su *setup) define(ctx context.Context, hv hypervisor.Hypervisor) error {
	var err error
	if su.spec.MetadataXML, err = su.md.marshal(); err != nil {
		return err
	}
	return hv.Define(ctx, su.spec)
}

// Start boots (or resumes, when hibernated) an instance that is shut off:
// one made by Define, stopped by Stop or saved by Hibernate. o are the
// options it was made with; o.Pool is the warm pool it is in now ("" for
// none). On failure it is left shut off.
func (m *Manager) Start(ctx context.Context, inst *Instance, o Options) error {
	if err := o.defaults(); err != nil {
		return invalid{err}
	}
	accel, _, err := m.HV.Accel(ctx)
	if err != nil {
		return err
	}
	if err := m.start(ctx, accel, o, inst); err != nil {
		_ = m.destroy(context.WithoutCancel(ctx), inst.Domain)
		inst.State = hypervisor.Shutoff
		return err
	}
	return nil
}

// start defines the instance's domain (again) and runs it: from its own
// hibernated memory, from the snapshot of its shape, or by booting.
func (m *Manager) start(ctx context.Context, accel hypervisor.Accel, o Options, inst *Instance) error {
	log := m.log().With("instance", inst.ID, "service", o.Service)
	if openNetwork(o) {
		// From before its domain is defined until it is admitted (and on to
		// its end here), the firewall's check leaves it to this launch.
		defer m.admitting.begin(inst.Domain)()
		// Before every boot: a firewall flushed since the last is mended.
		if err := m.guard(ctx); err != nil {
			return err
		}
	}
	su, err := m.setup(accel, o, inst)
	if err != nil {
		return err
	}
	if err := su.writeConfig(); err != nil {
		return err
	}
	// QEMU reads the config (the instance's env, secrets included) into
	// fw_cfg as it starts: no copy of it stays on the host's disk.
	defer os.Remove(su.cfgPath)
	hibernated := inst.Hibernated()
	var snap *snapshot.Template
	if m.Snapshots != nil && !o.ColdBoot && !hibernated {
		if snap, err = m.snapshotFor(ctx, su.shape); err != nil {
			// A launch never fails for want of a snapshot: it boots.
			log.Warn("no snapshot to restore from; booting", "err", err)
		}
	}
	su.spec.Incoming = snap != nil || hibernated
	if snap != nil {
		su.md.Snapshot, inst.Snapshot = snap.Key, snap.Key
	} else if !hibernated {
		su.md.Snapshot, inst.Snapshot = "", ""
	} else {
		su.md.Snapshot = inst.Snapshot
	}
	// defineAndStart is done again, as a boot, when a restore fails.
	defineAndStart := func() error {
		if err := su.define(ctx, m.HV); err != nil {
			return err
		}
		// Start paused so the caps and the forward are in place before
		// the guest runs a single instruction.
		return m.HV.Start(ctx, inst.Domain, true)
	}
	begin := time.Now()
	if err := defineAndStart(); err != nil {
		return err
	}
	started := time.Since(begin)
	switch {
	case hibernated:
		err := m.loadFile(ctx, inst.Domain, hibernationOf(inst))
		// Its memory is used once: resumed, it moves on from there.
		_ = os.Remove(hibernationOf(inst))
		if err != nil {
			return fmt.Errorf("resume %s from hibernation: %w", inst.ID, err)
		}
	case snap != nil:
		if err := m.loadFile(ctx, inst.Domain, snap.State); err != nil {
			log.Warn("restore failed; dropping the snapshot and booting", "snapshot", snap.Key, "err", err)
			_ = m.Snapshots.Invalidate(snap.Key)
			snap, su.spec.Incoming, su.md.Snapshot, inst.Snapshot = nil, false, "", ""
			if err := m.restartAfterCrash(ctx, inst.Domain, defineAndStart); err != nil {
				return err
			}
		}
	}
	restored := time.Since(begin)
	if err := os.Remove(su.cfgPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("launch %s: remove the guest config QEMU has read: %w", inst.ID, err)
	}
	if err := m.HV.SetMemoryHardLimit(ctx, inst.Domain, MemoryLimit(o.MemoryBytes)); err != nil {
		return err
	}
	if err := m.startBurst(ctx, inst.Domain, o.CPU); err != nil {
		return err
	}
	if o.Image.Port != 0 {
		if err := m.HV.ForwardPort(ctx, inst.Domain, inst.HostPort, o.Image.Port); err != nil {
			if o.HostPort != 0 {
				// Most likely taken since portFree; keep the cause in case not.
				return fmt.Errorf("host port %d is in use; pick another with --host-port, or 0 for a free one: %w", o.HostPort, err)
			}
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
	resumed := time.Since(begin)
	if snap != nil {
		if err := m.wake(ctx, inst.Domain, su.cfg); err != nil {
			return err
		}
	}
	inst.State = hypervisor.Running
	log.Info("started", "domain", inst.Domain, "address", inst.Address, "accel", accel, "snapshot", inst.Snapshot,
		"hibernated", hibernated, "started", started.Round(time.Millisecond), "restored", restored.Round(time.Millisecond),
		"resumed", resumed.Round(time.Millisecond), "woke", time.Since(begin).Round(time.Millisecond))
	return nil
}

// Stop shuts the guest down (destroying it after grace) and keeps its
// disk and domain: the instance is shut off, and Start boots it again.
func (m *Manager) Stop(ctx context.Context, inst *Instance, grace time.Duration) error {
	if err := m.halt(ctx, inst, grace); err != nil {
		return fmt.Errorf("stop %s: %w", inst.ID, err)
	}
	inst.State = hypervisor.Shutoff
	return nil
}

// Hibernate saves the running instance's memory into its directory and
// stops its QEMU, as EC2 hibernation writes RAM to the root volume: Start
// resumes it where it was.
func (m *Manager) Hibernate(ctx context.Context, inst *Instance) error {
	path := hibernationOf(inst)
	f, err := renameio.NewPendingFile(path, renameio.WithTempDir(inst.Dir))
	if err != nil {
		return fmt.Errorf("hibernate %s: %w", inst.ID, err)
	}
	defer f.Cleanup()
	// Synced before the rename: QEMU is destroyed next, and its memory
	// must not be lost to a crash that keeps an empty file.
	err = m.HV.SaveState(ctx, inst.Domain, inst.Dir, f)
	if err == nil {
		err = f.CloseAtomicallyReplace()
	}
	if err != nil {
		// Saving left it paused: let it run on rather than lose it.
		_ = m.HV.Resume(context.WithoutCancel(ctx), inst.Domain)
		return fmt.Errorf("hibernate %s: %w", inst.ID, err)
	}
	if err := m.destroy(ctx, inst.Domain); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("hibernate %s: %w", inst.ID, err)
	}
	inst.State = hypervisor.Shutoff
	return nil
}

// SetPool records the warm pool the instance is in ("" for none) in its
// domain's metadata, so a restarted controller knows it again.
func (m *Manager) SetPool(ctx context.Context, inst *Instance, pool string) error {
	return m.remember(ctx, inst, "the warm pool", func(i *Instance) { i.Pool = pool })
}

// SetProtected records the instance's scale-in protection in its
// domain's metadata, as SetInstanceProtection sets it on the instance.
func (m *Manager) SetProtected(ctx context.Context, inst *Instance, on bool) error {
	return m.remember(ctx, inst, "the scale-in protection", func(i *Instance) { i.ProtectedFromScaleIn = on })
}

// SetStandby records that the instance is in standby (EnterStandby), or
// no longer, in its domain's metadata, so a restarted controller keeps
// it there.
func (m *Manager) SetStandby(ctx context.Context, inst *Instance, on bool) error {
	return m.remember(ctx, inst, "standby", func(i *Instance) { i.Standby = on })
}

// SetLifecycle records the lifecycle action holding the instance (nil for
// none) in its domain's metadata, so a restarted controller holds it
// still.
func (m *Manager) SetLifecycle(ctx context.Context, inst *Instance, w *LifecycleWait) error {
	return m.remember(ctx, inst, "the lifecycle action", func(i *Instance) { i.Lifecycle = w })
}

// Label records what EC2 says of a standalone instance, its type and its
// own tags, in its domain's metadata.
func (m *Manager) Label(ctx context.Context, inst *Instance, instanceType string, tags []Tag) error {
	return m.remember(ctx, inst, "the type and tags", func(i *Instance) { i.InstanceType, i.Tags = instanceType, tags })
}

// remember changes inst with set and writes it to its domain's metadata;
// inst is changed only once libvirt has it.
func (m *Manager) remember(ctx context.Context, inst *Instance, what string, set func(*Instance)) error {
	next := *inst
	set(&next)
	md := metadataOf(&next)
	x, err := md.marshal()
	if err != nil {
		return err
	}
	if err := m.HV.SetMetadata(ctx, inst.Domain, x); err != nil {
		return fmt.Errorf("set %s of %s: %w", what, inst.ID, err)
	}
	set(inst)
	return nil
}

// restartAfterCrash starts a domain again whose QEMU has just exited by
// itself (a failed load). libvirt cleans up after such a QEMU on its own
// time: a start of the same domain before that ends was killed under
// load, even after the domain showed shut off (once in CI: QEMU gone 27 ms
// into its start, without a word). So it waits for shut off, and gives the
// start a second try the same way.
func (m *Manager) restartAfterCrash(ctx context.Context, domain string, start func() error) error {
	var err error
	for try := 0; try < 2; try++ {
		_ = m.HV.Destroy(ctx, domain)
		m.waitStopped(ctx, domain, 30*time.Second)
		if err = start(); err == nil || ctx.Err() != nil {
			return err
		}
		m.log().Warn("start after a failed restore failed; trying again", "domain", domain, "err", err)
	}
	return err
}
