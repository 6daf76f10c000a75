package hypervisor

import (
	"context"
	"fmt"
	"strings"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-qemu/qmp"
	"github.com/digitalocean/go-qemu/qmp/raw"
)

// A domain's definition and lifecycle: define, start, resume, stop,
// undefine, and the caps and forward set on it while it runs.

func (h *Libvirt) Define(ctx context.Context, spec *DomainSpec) error {
	if d, err := h.l.DomainLookupByName(spec.Name); err == nil && spec.UUID == "" {
		// Redefining: libvirt refuses the name under another UUID.
		s := *spec
		s.UUID = formatUUID(d.UUID)
		spec = &s
	}
	x, err := spec.XML()
	if err != nil {
		return err
	}
	if _, err := h.l.DomainDefineXMLFlags(x, libvirt.DomainDefineValidate); err != nil {
		return fmt.Errorf("define domain %s: %w", spec.Name, err)
	}
	return nil
}

func formatUUID(u libvirt.UUID) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// SetMetadata replaces the domain's vmfleet element, live and in its
// persistent config (just the config of a domain that is shut off).
func (h *Libvirt) SetMetadata(ctx context.Context, name, xml string) error {
	d, err := h.lookup(name)
	if err != nil {
		return err
	}
	el, err := bareElement(xml)
	if err != nil {
		return fmt.Errorf("set metadata of domain %s: %w", name, err)
	}
	set := func(flags libvirt.DomainModificationImpact) error {
		return h.l.DomainSetMetadata(d, int32(libvirt.DomainMetadataElement), libvirt.OptString{el},
			libvirt.OptString{MetadataPrefix}, libvirt.OptString{MetadataNamespace}, flags)
	}
	if err := set(libvirt.DomainAffectLive | libvirt.DomainAffectConfig); err != nil {
		if err := set(libvirt.DomainAffectConfig); err != nil {
			return fmt.Errorf("set metadata of domain %s: %w", name, err)
		}
	}
	return nil
}

func (h *Libvirt) Start(ctx context.Context, name string, paused bool) error {
	d, err := h.lookup(name)
	if err != nil {
		return err
	}
	var flags uint32
	if paused {
		flags = uint32(libvirt.DomainStartPaused)
	}
	if _, err := h.l.DomainCreateWithFlags(d, flags); err != nil {
		return fmt.Errorf("start domain %s: %w", name, err)
	}
	return nil
}

func (h *Libvirt) Resume(ctx context.Context, name string) error {
	d, err := h.lookup(name)
	if err != nil {
		return err
	}
	if err := h.l.DomainResume(d); err != nil {
		return fmt.Errorf("resume domain %s: %w", name, err)
	}
	return nil
}

func (h *Libvirt) Pause(ctx context.Context, name string) error {
	d, err := h.lookup(name)
	if err != nil {
		return err
	}
	if err := h.l.DomainSuspend(d); err != nil {
		return fmt.Errorf("pause domain %s: %w", name, err)
	}
	return nil
}

func (h *Libvirt) SetCPUQuota(ctx context.Context, name string, quota int64) error {
	d, err := h.lookup(name)
	if err != nil {
		return err
	}
	p := []libvirt.TypedParam{{Field: "global_quota", Value: *libvirt.NewTypedParamValueLlong(quota)}}
	if err := h.l.DomainSetSchedulerParametersFlags(d, p, uint32(libvirt.DomainAffectLive)); err != nil {
		return fmt.Errorf("set the cpu quota of %s: %w", name, err)
	}
	return nil
}

// SetMemoryHardLimit sets the cgroup hard limit on the live domain. Done
// live rather than in the XML because a process without CAP_SYS_RESOURCE
// cannot start a domain whose XML has one (libvirt also raises the locked
// memory limit then); the live call only writes the cgroup.
func (h *Libvirt) SetMemoryHardLimit(ctx context.Context, name string, bytes int64) error {
	d, err := h.lookup(name)
	if err != nil {
		return err
	}
	p := []libvirt.TypedParam{{Field: libvirt.DomainMemoryHardLimit, Value: *libvirt.NewTypedParamValueUllong(uint64(bytes / 1024))}}
	if err := h.l.DomainSetMemoryParameters(d, p, uint32(libvirt.DomainAffectLive)); err != nil {
		return fmt.Errorf("set memory limit of %s: %w", name, err)
	}
	return nil
}

func (h *Libvirt) ForwardPort(ctx context.Context, name string, hostPort, guestPort int) error {
	d, err := h.lookup(name)
	if err != nil {
		return err
	}
	mon := raw.NewMonitor(&monitor{l: h.l, d: d})
	// HMP: QEMU 7.2 has no QMP command that adds a forward to a running user netdev.
	out, err := mon.HumanMonitorCommand(fmt.Sprintf("hostfwd_add %s tcp:127.0.0.1:%d-:%d", NetdevID, hostPort, guestPort), nil)
	if err != nil {
		return fmt.Errorf("forward 127.0.0.1:%d to %s:%d: %w", hostPort, name, guestPort, err)
	}
	if out = strings.TrimSpace(out); out != "" {
		// HMP reports failures as text, e.g. "Could not set up host forwarding rule".
		return fmt.Errorf("forward 127.0.0.1:%d to %s:%d: %s", hostPort, name, guestPort, out)
	}
	return nil
}

// SetLink sets the NIC's link over QMP (set_link): libvirt cannot, as the
// NIC is given to QEMU on its command line, not as a libvirt interface.
// Naming the netdev sets its NIC peer's link too, which the guest sees.
func (h *Libvirt) SetLink(ctx context.Context, name string, up bool) error {
	d, err := h.lookup(name)
	if err != nil {
		return err
	}
	if err := setLink(&monitor{l: h.l, d: d}, up); err != nil {
		state := map[bool]string{true: "up", false: "down"}[up]
		return fmt.Errorf("set the network link of %s %s: %w", name, state, err)
	}
	return nil
}

func setLink(mon qmp.Monitor, up bool) error { return raw.NewMonitor(mon).SetLink(NetdevID, up) }

func (h *Libvirt) Shutdown(ctx context.Context, name string) error {
	d, err := h.lookup(name)
	if err != nil {
		return err
	}
	if err := h.l.DomainShutdownFlags(d, libvirt.DomainShutdownAcpiPowerBtn); err != nil {
		return fmt.Errorf("shut down %s: %w", name, err)
	}
	return nil
}

func (h *Libvirt) Destroy(ctx context.Context, name string) error {
	d, err := h.l.DomainLookupByName(name)
	if isCode(err, libvirt.ErrNoDomain) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find domain %s: %w", name, err)
	}
	if err := h.l.DomainDestroyFlags(d, 0); err != nil && !isCode(err, libvirt.ErrOperationInvalid) && !isCode(err, libvirt.ErrNoDomain) {
		return fmt.Errorf("destroy %s: %w", name, err)
	}
	return nil
}

func (h *Libvirt) Undefine(ctx context.Context, name string) error {
	d, err := h.l.DomainLookupByName(name)
	if isCode(err, libvirt.ErrNoDomain) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find domain %s: %w", name, err)
	}
	if err := h.l.DomainUndefineFlags(d, 0); err != nil && !isCode(err, libvirt.ErrNoDomain) {
		return fmt.Errorf("undefine %s: %w", name, err)
	}
	return nil
}
