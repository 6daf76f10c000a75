package hypervisor

import (
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"libvirt.org/go/libvirtxml"
)

const testMetadata = `<vmfleet:instance xmlns:vmfleet="https://vmfleet.dev/xmlns/instance/1"><vmfleet:id>i-0123456789ab</vmfleet:id></vmfleet:instance>`

// testSpec is a spec as instance.Launch makes one, with every field set.
func testSpec(accel Accel) *DomainSpec {
	return &DomainSpec{
		Name:       "vmfleet-web-i-0123456789ab",
		Accel:      accel,
		VCPUs:      2,
		MemoryMiB:  256,
		CPUQuota:   150000,
		CPUPeriod:  100000,
		Kernel:     "/var/lib/vmfleet/images/web/vmlinuz",
		Initrd:     "/var/lib/vmfleet/images/web/initrd.img",
		Cmdline:    "console=ttyS0 quiet panic=-1 rdinit=/init",
		Disk:       "/var/lib/vmfleet/instances/i-0123456789ab/overlay.qcow2",
		ConsoleLog: "/var/lib/vmfleet/instances/i-0123456789ab/console.log",
		FwCfg:      map[string]string{"opt/dev.vmfleet/config": "/var/lib/vmfleet/instances/i-0123456789ab/guest-config.json"},
		// The metadata is what List reads back, so it must survive as is.
		MetadataXML: testMetadata,
		TBCacheMiB:  64,
	}
}

// parse renders the spec and reads it back the way libvirt would see it.
func parse(t *testing.T, s *DomainSpec) (*libvirtxml.Domain, string) {
	t.Helper()
	out, err := s.XML()
	if err != nil {
		t.Fatalf("XML: %v", err)
	}
	var d libvirtxml.Domain
	if err := d.Unmarshal(out); err != nil {
		t.Fatalf("the XML does not parse back: %v\n%s", err, out)
	}
	return &d, out
}

func TestXMLUnderTCGIsAQemuDomainWithABoundedTranslationCache(t *testing.T) {
	d, out := parse(t, testSpec(TCG))
	if d.Type != "qemu" {
		t.Errorf("domain type %q, want qemu (TCG)", d.Type)
	}
	if d.CPU != nil {
		t.Errorf("TCG domain has a <cpu> (%+v); host-passthrough needs KVM", d.CPU)
	}
	// Unbounded, the translation cache grows towards 1 GiB and QEMU
	// outgrows its memory cap.
	if d.Features == nil || d.Features.TCG == nil || d.Features.TCG.TBCache == nil {
		t.Fatalf("no <tcg><tb-cache> under TCG:\n%s", out)
	}
	if c := d.Features.TCG.TBCache; c.Size != 64 || c.Unit != "MiB" {
		t.Errorf("tb-cache %d %s, want 64 MiB", c.Size, c.Unit)
	}
}

func TestXMLUnderTCGWithoutACacheSizeLeavesQEMUsDefault(t *testing.T) {
	s := testSpec(TCG)
	s.TBCacheMiB = 0
	d, _ := parse(t, s)
	if d.Features != nil && d.Features.TCG != nil {
		t.Errorf("tcg feature %+v set with TBCacheMiB 0", d.Features.TCG)
	}
}

func TestXMLUnderKVMPassesTheHostCPUThroughAndHasNoTCGSettings(t *testing.T) {
	d, out := parse(t, testSpec(KVM))
	if d.Type != "kvm" {
		t.Errorf("domain type %q, want kvm", d.Type)
	}
	if d.CPU == nil || d.CPU.Mode != "host-passthrough" {
		t.Errorf("cpu %+v, want mode host-passthrough:\n%s", d.CPU, out)
	}
	// libvirt rejects a <tcg> feature on a kvm domain.
	if d.Features != nil && d.Features.TCG != nil {
		t.Errorf("KVM domain has a <tcg> feature:\n%s", out)
	}
}

func TestXMLBootsTheKernelDirectly(t *testing.T) {
	s := testSpec(TCG)
	d, _ := parse(t, s)
	if d.OS == nil {
		t.Fatal("no <os>")
	}
	if d.OS.Kernel != s.Kernel || d.OS.Initrd != s.Initrd || d.OS.Cmdline != s.Cmdline {
		t.Errorf("os kernel %q initrd %q cmdline %q, want %q %q %q", d.OS.Kernel, d.OS.Initrd, d.OS.Cmdline, s.Kernel, s.Initrd, s.Cmdline)
	}
	// libvirt cannot drive QEMU's microvm machine; direct boot works on pc.
	if d.OS.Type == nil || d.OS.Type.Type != "hvm" || d.OS.Type.Machine != "pc" || d.OS.Type.Arch != "x86_64" {
		t.Errorf("os type %+v, want hvm, machine pc, x86_64", d.OS.Type)
	}
	if len(d.OS.BootDevices) != 0 || d.OS.Loader != nil {
		t.Errorf("firmware boot configured (boot %v, loader %+v); the kernel is booted directly", d.OS.BootDevices, d.OS.Loader)
	}
}

func TestXMLSizesTheGuest(t *testing.T) {
	d, _ := parse(t, testSpec(TCG))
	if d.VCPU == nil || d.VCPU.Value != 2 {
		t.Errorf("vcpu %+v, want 2", d.VCPU)
	}
	if d.Memory == nil || d.Memory.Value != 256 || d.Memory.Unit != "MiB" {
		t.Errorf("memory %+v, want 256 MiB", d.Memory)
	}
}

func TestXMLHasACPISoAGuestPowerOffStopsTheDomain(t *testing.T) {
	// Without ACPI a guest's poweroff only halts the CPU and the domain
	// stays "running" for ever.
	d, out := parse(t, testSpec(TCG))
	if d.Features == nil || d.Features.ACPI == nil {
		t.Errorf("no <features><acpi/>:\n%s", out)
	}
}

func TestXMLDestroysTheDomainOnPoweroffRebootAndCrash(t *testing.T) {
	d, _ := parse(t, testSpec(TCG))
	for what, got := range map[string]string{"on_poweroff": d.OnPoweroff, "on_reboot": d.OnReboot, "on_crash": d.OnCrash} {
		if got != "destroy" {
			t.Errorf("%s %q, want destroy: the controller decides what replaces a stopped guest", what, got)
		}
	}
}

func TestXMLDiskIsTheQcow2OverlayOnVirtioVda(t *testing.T) {
	s := testSpec(TCG)
	d, out := parse(t, s)
	if d.Devices == nil || len(d.Devices.Disks) != 1 {
		t.Fatalf("want exactly one disk:\n%s", out)
	}
	disk := d.Devices.Disks[0]
	if disk.Device != "disk" {
		t.Errorf("disk device %q, want disk", disk.Device)
	}
	if disk.Driver == nil || disk.Driver.Name != "qemu" || disk.Driver.Type != "qcow2" {
		t.Errorf("disk driver %+v, want qemu qcow2 (raw would expose the overlay's header to the guest)", disk.Driver)
	}
	if disk.Source == nil || disk.Source.File == nil || disk.Source.File.File != s.Disk {
		t.Errorf("disk source %+v, want file %s", disk.Source, s.Disk)
	}
	if disk.Target == nil || disk.Target.Dev != "vda" || disk.Target.Bus != "virtio" {
		t.Errorf("disk target %+v, want vda on virtio", disk.Target)
	}
}

func TestXMLNetworkIsARestrictedIPv4UserModeNetdevUnlessOpen(t *testing.T) {
	for _, open := range []bool{false, true} {
		s := testSpec(TCG)
		s.OpenNetwork = open
		d, out := parse(t, s)
		if d.Devices != nil && len(d.Devices.Interfaces) != 0 {
			t.Fatalf("libvirt interfaces cannot say restrict=on; want the netdev on the command line:\n%s", out)
		}
		if d.QEMUCommandline == nil {
			t.Fatalf("no qemu:commandline:\n%s", out)
		}
		var args []string
		for _, a := range d.QEMUCommandline.Args {
			args = append(args, a.Value)
		}
		want := []string{"-netdev", "user,id=" + NetdevID + ",restrict=on,ipv6=off", "-device", "virtio-net-pci,netdev=" + NetdevID + ",addr=" + nicSlot}
		if open {
			want[1] = "user,id=" + NetdevID + ",restrict=off,ipv6=off"
		}
		if !slices.Equal(args, want) {
			t.Errorf("open=%v: args %q, want %q", open, args, want)
		}
	}
}

func TestXMLAgentIsAVirtioSerialChannelOnASocketLibvirtNames(t *testing.T) {
	s := testSpec(TCG)
	s.Agent = "dev.vmfleet.agent"
	d, out := parse(t, s)
	if len(d.Devices.Channels) != 1 {
		t.Fatalf("want one channel:\n%s", out)
	}
	ch := d.Devices.Channels[0]
	if ch.Source == nil || ch.Source.UNIX == nil || ch.Source.UNIX.Mode != "bind" || ch.Source.UNIX.Path != "" {
		t.Errorf("channel source %+v, want a unix socket QEMU binds where libvirt chooses", ch.Source)
	}
	if ch.Target == nil || ch.Target.VirtIO == nil || ch.Target.VirtIO.Name != s.Agent {
		t.Errorf("channel target %+v, want virtio port %s", ch.Target, s.Agent)
	}
	s.Agent = ""
	if d, _ := parse(t, s); len(d.Devices.Channels) != 0 {
		t.Error("a spec without an agent still has a channel")
	}
}

func TestXMLSerialIsAPtyLoggedThroughVirtlogd(t *testing.T) {
	s := testSpec(TCG)
	d, out := parse(t, s)
	if d.Devices == nil || len(d.Devices.Serials) != 1 || len(d.Devices.Consoles) != 1 {
		t.Fatalf("want one serial and one console:\n%s", out)
	}
	// A <log> on the chardev goes through virtlogd, which rotates it; a
	// file source would be written by QEMU itself, without bound.
	ser := d.Devices.Serials[0]
	if ser.Source == nil || ser.Source.Pty == nil || ser.Log == nil || ser.Log.File != s.ConsoleLog || ser.Log.Append != "on" {
		t.Errorf("serial %+v log %+v, want a pty logged to %s", ser.Source, ser.Log, s.ConsoleLog)
	}
	con := d.Devices.Consoles[0]
	if con.Target == nil || con.Target.Type != "serial" {
		t.Errorf("console target %+v, want serial (the kernel writes to ttyS0)", con.Target)
	}
}

func TestXMLPassesTheGuestConfigAsAnFwCfgFile(t *testing.T) {
	s := testSpec(TCG)
	d, out := parse(t, s)
	var entries []libvirtxml.DomainSysInfoEntry
	for _, si := range d.SysInfo {
		if si.FWCfg != nil {
			entries = append(entries, si.FWCfg.Entry...)
		}
	}
	if len(entries) != 1 {
		t.Fatalf("fw_cfg entries %+v, want one:\n%s", entries, out)
	}
	e := entries[0]
	// A file, not an inline value: libvirt does not escape commas there.
	if e.Name != "opt/dev.vmfleet/config" || e.File != s.FwCfg["opt/dev.vmfleet/config"] || e.Value != "" {
		t.Errorf("fw_cfg entry %+v, want name opt/dev.vmfleet/config from file %s", e, s.FwCfg["opt/dev.vmfleet/config"])
	}
}

func TestXMLListsFwCfgEntriesInTheSameOrderEveryTime(t *testing.T) {
	// Map order is random; the same spec must give the same XML.
	s := testSpec(TCG)
	s.FwCfg = map[string]string{}
	for _, n := range []string{"opt/a", "opt/b", "opt/c", "opt/d", "opt/e", "opt/f"} {
		s.FwCfg[n] = "/cfg/" + n
	}
	first, err := s.XML()
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, err := s.XML()
		if err != nil {
			t.Fatal(err)
		}
		if again != first {
			t.Fatalf("XML differs between two renderings of one spec:\n%s\n---\n%s", first, again)
		}
	}
}

func TestXMLWithoutFwCfgHasNoSysinfo(t *testing.T) {
	s := testSpec(TCG)
	s.FwCfg = nil
	d, _ := parse(t, s)
	if len(d.SysInfo) != 0 {
		t.Errorf("sysinfo %+v without fw_cfg entries", d.SysInfo)
	}
}

func TestXMLCapsTheWholeDomainsCPUWhenAQuotaIsGiven(t *testing.T) {
	d, out := parse(t, testSpec(TCG))
	ct := d.CPUTune
	if ct == nil || ct.GlobalPeriod == nil || ct.GlobalQuota == nil {
		t.Fatalf("no <cputune> global_period/global_quota:\n%s", out)
	}
	if ct.GlobalPeriod.Value != 100000 || ct.GlobalQuota.Value != 150000 {
		t.Errorf("global period %d quota %d, want 100000 150000", ct.GlobalPeriod.Value, ct.GlobalQuota.Value)
	}
	// <quota> would cap each vCPU instead, letting 2 vCPUs use 2 x 1.5 cores.
	if ct.Quota != nil || ct.Period != nil {
		t.Errorf("per-vCPU period/quota set: %+v %+v", ct.Period, ct.Quota)
	}
}

func TestXMLHasNoCPUTuneWithoutAQuota(t *testing.T) {
	s := testSpec(TCG)
	s.CPUQuota = 0
	d, out := parse(t, s)
	if d.CPUTune != nil {
		t.Errorf("cputune present with CPUQuota 0:\n%s", out)
	}
}

func TestXMLHasNoMemoryHardLimit(t *testing.T) {
	// A <memtune><hard_limit> stops the domain from starting without
	// CAP_SYS_RESOURCE; the limit is set live after start instead.
	d, out := parse(t, testSpec(TCG))
	if d.MemoryTune != nil && d.MemoryTune.HardLimit != nil {
		t.Errorf("memtune hard_limit in the XML:\n%s", out)
	}
}

func TestXMLCarriesTheMetadataInTheVmfleetNamespace(t *testing.T) {
	d, out := parse(t, testSpec(TCG))
	if d.Metadata == nil {
		t.Fatalf("no <metadata>:\n%s", out)
	}
	// Domains() asks libvirt for the element by this namespace.
	dec := xml.NewDecoder(strings.NewReader(d.Metadata.XML))
	var first *xml.StartElement
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("metadata %q does not parse: %v", d.Metadata.XML, err)
		}
		if se, ok := tok.(xml.StartElement); ok && first == nil {
			first = &se
		}
	}
	if first == nil || first.Name.Space != MetadataNamespace || first.Name.Local != "instance" {
		t.Errorf("metadata element %+v, want instance in %s", first, MetadataNamespace)
	}
	if !strings.Contains(d.Metadata.XML, "i-0123456789ab") {
		t.Errorf("metadata lost its content: %q", d.Metadata.XML)
	}
}

func TestXMLWithoutMetadataHasNoMetadataElement(t *testing.T) {
	s := testSpec(TCG)
	s.MetadataXML = ""
	d, _ := parse(t, s)
	if d.Metadata != nil {
		t.Errorf("metadata %q for an empty MetadataXML", d.Metadata.XML)
	}
}

func TestXMLValidatesAgainstLibvirtsSchema(t *testing.T) {
	// virt-xml-validate is a shell script around xmllint: both must exist.
	for _, tool := range []string{"virt-xml-validate", "xmllint"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (Debian: libvirt-clients, libxml2-utils)", tool)
		}
	}
	noQuota := testSpec(TCG)
	noQuota.CPUQuota, noQuota.FwCfg, noQuota.MetadataXML = 0, nil, ""
	for name, s := range map[string]*DomainSpec{"tcg": testSpec(TCG), "kvm": testSpec(KVM), "bare": noQuota} {
		t.Run(name, func(t *testing.T) {
			out, err := s.XML()
			if err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(t.TempDir(), "domain.xml")
			if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			if msg, err := exec.Command("virt-xml-validate", f, "domain").CombinedOutput(); err != nil {
				t.Errorf("virt-xml-validate: %v\n%s\n%s", err, msg, out)
			}
		})
	}
}
