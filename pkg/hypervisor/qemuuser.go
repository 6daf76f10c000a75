package hypervisor

import (
	"os/user"
	"strconv"
)

// QEMUGroup is the gid of the group libvirt runs QEMU in: Debian's
// libvirt-qemu, Ubuntu's kvm or Fedora's qemu, the first the host has.
// Files and sockets QEMU must open, and no one else should, are given to
// it. lookupGroup is user.LookupGroup but in tests.
func QEMUGroup(lookupGroup func(string) (*user.Group, error)) (int, bool) {
	for _, name := range []string{"libvirt-qemu", "kvm", "qemu"} {
		g, err := lookupGroup(name)
		if err != nil {
			continue
		}
		if gid, err := strconv.Atoi(g.Gid); err == nil {
			return gid, true
		}
	}
	return 0, false
}
