// Package initbin chooses the program a bake puts in the guest as /init.
// vmfleet is its own guest init (it runs as one when it is PID 1), so a
// lone vmfleet, as `go install` leaves it, bakes images that boot; the
// dedicated vmfleet-init is preferred when it lies beside vmfleet because
// it is several times smaller, and the initramfs stays in guest memory.
package initbin

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Small is the dedicated guest init's file name.
const Small = "vmfleet-init"

// Choose returns the path of the guest's init: explicit (from --init or
// VMFLEET_INIT) if given; else vmfleet-init beside the running executable;
// else the running executable itself.
func Choose(explicit string) (string, error) {
	if explicit != "" {
		return choose(explicit, "")
	}
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the running executable, the guest's init: %w", err)
	}
	return choose("", self)
}

func choose(explicit, self string) (string, error) {
	if explicit != "" {
		if err := isFile(explicit); err != nil {
			return "", fmt.Errorf("--init %s: %w; point --init or VMFLEET_INIT at vmfleet-init or vmfleet", explicit, err)
		}
		return explicit, nil
	}
	if small := filepath.Join(filepath.Dir(self), Small); isFile(small) == nil {
		return small, nil
	}
	return self, nil
}

// isFile says why p cannot be an init, or nil.
func isFile(p string) error {
	fi, err := os.Stat(p)
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err // the caller names the path
	}
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	return nil
}
