package instance

import (
	"errors"
	"io/fs"
	"os"
	"os/user"

	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

// writeForQEMU writes a file libvirt's QEMU must read at start and no one
// else should: the guest config holds the service's environment. It is
// 0640 with the group of libvirt's QEMU user where the host has one, and
// 0600 where it has none: QEMU then runs as root, or as us under
// qemu:///session. It is never readable by others, not even for a moment.
// lookupGroup is user.LookupGroup but in tests.
func writeForQEMU(p string, data []byte, lookupGroup func(string) (*user.Group, error)) error {
	if err := os.WriteFile(p, data, 0o600); err != nil {
		return err
	}
	gid, ok := hypervisor.QEMUGroup(lookupGroup)
	if !ok {
		return nil
	}
	if err := os.Chown(p, -1, gid); err != nil {
		if errors.Is(err, fs.ErrPermission) {
			// Neither root nor in the group: 0600 it stays, and libvirt's
			// dynamic ownership (on by default) hands it to QEMU at start.
			return nil
		}
		return err
	}
	return os.Chmod(p, 0o640)
}
