package kernel

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A slice of Debian 6.1 cloud kernel's modules.dep.
const debianDep = `kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_pci_modern_dev.ko:
kernel/drivers/virtio/virtio_pci_legacy_dev.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
kernel/net/core/failover.ko:
kernel/drivers/firmware/qemu_fw_cfg.ko:
`

func TestLoadOrderPutsEveryDependencyBeforeItsUser(t *testing.T) {
	order, err := LoadOrder(debianDep, []string{"virtio_pci", "virtio_blk", "virtio_net", "qemu-fw-cfg"})
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, f := range order {
		if _, dup := pos[ModuleName(f)]; dup {
			t.Fatalf("%s loaded twice in %v", f, order)
		}
		pos[ModuleName(f)] = i
	}
	before := [][2]string{
		{"virtio_ring", "virtio"}, {"virtio", "virtio_pci"}, {"virtio_pci_modern_dev", "virtio_pci"},
		{"virtio_pci_legacy_dev", "virtio_pci"}, {"failover", "net_failover"}, {"net_failover", "virtio_net"},
	}
	for _, b := range before {
		if pos[b[0]] >= pos[b[1]] {
			t.Errorf("%s must load before %s; order %v", b[0], b[1], order)
		}
	}
	if len(order) != 10 {
		t.Errorf("want the 10 modules, got %d: %v", len(order), order)
	}
}

func TestLoadOrderNamesModulesItCannotFind(t *testing.T) {
	_, err := LoadOrder(debianDep, []string{"virtio_pci", "ext4", "nosuch"})
	if err == nil || !strings.Contains(err.Error(), "ext4, nosuch") {
		t.Fatalf("want both missing modules named, got %v", err)
	}
}

func TestModuleNameStripsSuffixesAndNormalisesDashes(t *testing.T) {
	for in, want := range map[string]string{
		"kernel/drivers/virtio/virtio_pci.ko": "virtio_pci",
		"kernel/fs/fuse/fuse.ko.xz":           "fuse",
		"kernel/drivers/x/qemu-fw-cfg.ko.zst": "qemu_fw_cfg",
	} {
		if got := ModuleName(in); got != want {
			t.Errorf("ModuleName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestResolvePicksNewestInstalledKernelOfTheSeries(t *testing.T) {
	root := t.TempDir()
	boot, mods := filepath.Join(root, "boot"), filepath.Join(root, "modules")
	for _, v := range []string{"6.1.0-9-cloud-amd64", "6.1.0-56-cloud-amd64", "6.1.0-60-amd64", "6.12.0-1-cloud-amd64"} {
		must(t, os.MkdirAll(filepath.Join(mods, v), 0o755))
		must(t, os.WriteFile(filepath.Join(mods, v, "modules.dep"), []byte(debianDep), 0o644))
		must(t, os.MkdirAll(boot, 0o755))
		must(t, os.WriteFile(filepath.Join(boot, "vmlinuz-"+v), []byte("k"), 0o644))
	}
	def := Definition{Series: "6.1.", Flavour: "-cloud-amd64", BootDir: boot, ModulesRoot: mods, Modules: []string{"virtio_blk"}}
	k, err := Resolve(def, Selector{})
	if err != nil {
		t.Fatal(err)
	}
	if k.Version != "6.1.0-56-cloud-amd64" {
		t.Errorf("picked %s, want 6.1.0-56-cloud-amd64", k.Version)
	}
	if !slices.Equal(k.Modules, []string{"kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko", "kernel/drivers/block/virtio_blk.ko"}) {
		t.Errorf("modules %v", k.Modules)
	}
	k, err = Resolve(def, Selector{Version: "6.1.0-9-cloud-amd64"})
	if err != nil || k.Version != "6.1.0-9-cloud-amd64" {
		t.Errorf("selector version ignored: %v %v", k, err)
	}
	if _, err := Resolve(def, Selector{Version: "9.9"}); err == nil || !strings.Contains(err.Error(), "--kernel-version") {
		t.Errorf("missing kernel should say how to fix it, got %v", err)
	}
}

func TestDefaultDefinitionParses(t *testing.T) {
	data, err := os.ReadFile("../../images/kernel.json")
	must(t, err)
	d, err := ParseDefinition(data)
	must(t, err)
	if !slices.Contains(d.Modules, "virtio_blk") {
		t.Errorf("default definition lacks virtio_blk: %v", d.Modules)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
