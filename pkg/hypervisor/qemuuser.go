package hypervisor

import (
	"os/user"
	"strconv"
)

// qemuNames are the names libvirt runs QEMU under: Debian's libvirt-qemu,
// Ubuntu's kvm or Fedora's qemu; the first the host has is the one.
var qemuNames = []string{"libvirt-qemu", "kvm", "qemu"}

// QEMUGroup is the gid of the group libvirt runs QEMU in. Files and
// sockets QEMU must open, and no one else should, are given to it.
// lookupGroup is user.LookupGroup but in tests.
func QEMUGroup(lookupGroup func(string) (*user.Group, error)) (int, bool) {
	for _, name := range qemuNames {
		if g, err := lookupGroup(name); err == nil {
			if gid, err := strconv.Atoi(g.Gid); err == nil {
				return gid, true
			}
		}
	}
	return 0, false
}

// QEMUUser is the uid libvirt runs QEMU as, found the same way;
// lookupUser is user.Lookup but in tests.
func QEMUUser(lookupUser func(string) (*user.User, error)) (int, bool) {
	for _, name := range qemuNames {
		if u, err := lookupUser(name); err == nil {
			if uid, err := strconv.Atoi(u.Uid); err == nil {
				return uid, true
			}
		}
	}
	return 0, false
}
