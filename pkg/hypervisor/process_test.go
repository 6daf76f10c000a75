package hypervisor

import (
	"os"
	"path/filepath"
	"testing"
)

func TestAQEMUProcessIsItsFilesystemUIDAndItsCgroups(t *testing.T) {
	dir := t.TempDir()
	cgroups := "4:memory:/machine/qemu-2-a.libvirt-qemu\n0::/machine/qemu-2-a.libvirt-qemu/emulator\n"
	os.WriteFile(filepath.Join(dir, "cgroup"), []byte(cgroups), 0o644)
	os.WriteFile(filepath.Join(dir, "status"), []byte("Name:\tqemu-system-x86\nUid:\t64055\t64055\t64055\t64056\nGid:\t1\t1\t1\t1\n"), 0o644)
	p, err := readProcess(dir)
	if err != nil {
		t.Fatal(err)
	}
	if p.UID != 64056 || p.Cgroups != cgroups {
		t.Fatalf("%+v, want the fourth uid (the one its sockets carry) and the cgroup file", p)
	}
	os.WriteFile(filepath.Join(dir, "status"), []byte("Name:\tqemu-system-x86\n"), 0o644)
	if _, err := readProcess(dir); err == nil {
		t.Fatal("a status without a Uid line read as a process")
	}
}
