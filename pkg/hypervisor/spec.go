package hypervisor

import (
	"fmt"
	"maps"
	"slices"

	"libvirt.org/go/libvirtxml"
)

// Accel is how guests run: "kvm" (hardware) or "qemu" (TCG, software).
type Accel string

const (
	KVM Accel = "kvm"
	TCG Accel = "qemu"
)

// DomainSpec is everything vmfleet decides about a domain.
type DomainSpec struct {
	Name      string
	Accel     Accel
	VCPUs     uint
	MemoryMiB uint
	CPUQuota  int64 // µs per CPUPeriod for the whole domain; 0 for no cap
	CPUPeriod uint64
	// Firmware is a BIOS image to boot with instead of SeaBIOS (qboot
	// starts a direct-boot kernel about half a second sooner under TCG).
	Firmware   string
	Kernel     string
	Initrd     string
	Cmdline    string
	Disk       string // qcow2 overlay
	ConsoleLog string
	// FwCfg maps fw_cfg entry names to host files QEMU reads them from
	// (files, because libvirt does not escape commas in inline values).
	FwCfg map[string]string
	// MetadataXML is stored under MetadataNamespace with the vmfleet prefix.
	MetadataXML string
	// Agent adds the virtio-serial port (named by this string) that the
	// daemon and the guest's init talk over; libvirt picks the socket's
	// path (AgentSocket reads it back). Empty for none.
	Agent string
	// OpenNetwork lets the guest open connections through the user-mode
	// network: to the host's loopback at 10.0.2.2 and to the outside, as
	// far as the host's firewall lets each guest (pkg/firewall). Without
	// it the network is restricted: the guest answers forwarded
	// connections and reaches nothing itself.
	OpenNetwork bool
	// Incoming starts QEMU waiting for a saved state (LoadState) instead
	// of booting the kernel.
	Incoming bool
	// TBCacheMiB bounds QEMU's TCG translation cache, which otherwise grows
	// towards 1 GiB and would push QEMU past a memory cap.
	TBCacheMiB uint
	// UUID is the domain's; empty lets libvirt pick one (Define keeps an
	// existing domain's, so a redefinition replaces its config).
	UUID string
}

// NetdevID names the guest's user-mode netdev, for port forwards.
const NetdevID = "vmfnet0"

// nicSlot is the NIC's PCI slot: libvirt numbers the devices it knows of
// from slot 2 up, and this one it does not know of.
const nicSlot = "0x10"

// MetadataNamespace marks domains as vmfleet's.
const (
	MetadataNamespace = "https://vmfleet.dev/xmlns/instance/1"
	MetadataPrefix    = "vmfleet"
)

// XML renders the spec as libvirt domain XML. The domain boots the kernel
// directly (no firmware, no bootloader), has ACPI so a guest power-off
// really stops it, and a user-mode network that the host reaches through
// forwards added at run time.
func (s *DomainSpec) XML() (string, error) {
	d := &libvirtxml.Domain{
		Type:   string(s.Accel),
		Name:   s.Name,
		UUID:   s.UUID,
		Memory: &libvirtxml.DomainMemory{Value: s.MemoryMiB, Unit: "MiB"},
		VCPU:   &libvirtxml.DomainVCPU{Value: s.VCPUs},
		OS: &libvirtxml.DomainOS{
			Type:    &libvirtxml.DomainOSType{Arch: "x86_64", Machine: "pc", Type: "hvm"},
			Kernel:  s.Kernel,
			Initrd:  s.Initrd,
			Cmdline: s.Cmdline,
		},
		Features: &libvirtxml.DomainFeatureList{ACPI: &libvirtxml.DomainFeature{}},
		Clock:    &libvirtxml.DomainClock{Offset: "utc"},
		// A guest that powers off or reboots has stopped: the controller,
		// not libvirt, decides what replaces it.
		OnPoweroff: "destroy",
		OnReboot:   "destroy",
		OnCrash:    "destroy",
		Devices: &libvirtxml.DomainDeviceList{
			Disks: []libvirtxml.DomainDisk{{
				Device: "disk",
				Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "qcow2", Cache: "unsafe", Discard: "unmap"},
				Source: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: s.Disk}},
				Target: &libvirtxml.DomainDiskTarget{Dev: "vda", Bus: "virtio"},
			}},
			// The console is a pty (virsh console works) logged through
			// virtlogd, which rotates the file (max_size, max_backups in
			// virtlogd.conf): a chatty guest cannot fill the disk.
			Serials: []libvirtxml.DomainSerial{{
				Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
				Log:    &libvirtxml.DomainChardevLog{File: s.ConsoleLog, Append: "on"},
			}},
			Consoles: []libvirtxml.DomainConsole{{
				Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
				Target: &libvirtxml.DomainConsoleTarget{Type: "serial"},
			}},
			Controllers: []libvirtxml.DomainController{{Type: "usb", Model: "none"}},
			// A balloon only for its statistics (the guest's memory in
			// use, each second); nothing inflates it.
			MemBalloon: &libvirtxml.DomainMemBalloon{Model: "virtio", Stats: &libvirtxml.DomainMemBalloonStats{Period: 1}},
		},
	}
	if s.Firmware != "" {
		d.OS.Loader = &libvirtxml.DomainLoader{Path: s.Firmware, Type: "rom", Readonly: "yes"}
	}
	if s.Accel == KVM {
		d.CPU = &libvirtxml.DomainCPU{Mode: "host-passthrough"}
	} else if s.TBCacheMiB > 0 {
		d.Features.TCG = &libvirtxml.DomainFeatureTCG{TBCache: &libvirtxml.DomainFeatureTCGTBCache{Unit: "MiB", Size: s.TBCacheMiB}}
	}
	if s.CPUQuota > 0 {
		d.CPUTune = &libvirtxml.DomainCPUTune{
			GlobalPeriod: &libvirtxml.DomainCPUTunePeriod{Value: s.CPUPeriod},
			GlobalQuota:  &libvirtxml.DomainCPUTuneQuota{Value: s.CPUQuota},
		}
	}
	if len(s.FwCfg) > 0 {
		fw := &libvirtxml.DomainSysInfoFWCfg{}
		// Sorted: the same spec must render to the same XML.
		for _, name := range slices.Sorted(maps.Keys(s.FwCfg)) {
			fw.Entry = append(fw.Entry, libvirtxml.DomainSysInfoEntry{Name: name, File: s.FwCfg[name]})
		}
		d.SysInfo = []libvirtxml.DomainSysInfo{{FWCfg: fw}}
	}
	// The user-mode network is given to QEMU directly: libvirt 9.0 has no
	// way to say restrict=on. IPv6 is off: the firewall holds guests to
	// what they may reach by IPv4 rules.
	restrict := "on"
	if s.OpenNetwork {
		restrict = "off"
	}
	netdev := "user,id=" + NetdevID + ",restrict=" + restrict + ",ipv6=off"
	args := []libvirtxml.DomainQEMUCommandlineArg{
		{Value: "-netdev"}, {Value: netdev},
		{Value: "-device"}, {Value: "virtio-net-pci,netdev=" + NetdevID + ",addr=" + nicSlot},
	}
	if s.Incoming {
		args = append(args, libvirtxml.DomainQEMUCommandlineArg{Value: "-incoming"}, libvirtxml.DomainQEMUCommandlineArg{Value: "defer"})
	}
	d.QEMUCommandline = &libvirtxml.DomainQEMUCommandline{Args: args}
	if s.Agent != "" {
		d.Devices.Channels = []libvirtxml.DomainChannel{{
			Source: &libvirtxml.DomainChardevSource{UNIX: &libvirtxml.DomainChardevSourceUNIX{Mode: "bind"}},
			Target: &libvirtxml.DomainChannelTarget{VirtIO: &libvirtxml.DomainChannelTargetVirtIO{Name: s.Agent}},
		}}
	}
	if s.MetadataXML != "" {
		d.Metadata = &libvirtxml.DomainMetadata{XML: s.MetadataXML}
	}
	out, err := d.Marshal()
	if err != nil {
		return "", fmt.Errorf("domain %s xml: %w", s.Name, err)
	}
	return out, nil
}
