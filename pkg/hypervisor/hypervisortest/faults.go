package hypervisortest

import (
	"context"
	"errors"
	"fmt"

	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

// SetLink records the NIC's link in Domain.LinkDown; the domain must be
// running or paused, as QEMU must be.
func (f *Fake) SetLink(ctx context.Context, name string, up bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("SetLink", name, up); err != nil {
		return err
	}
	d, err := f.get(name)
	if err != nil {
		return err
	}
	if d.State == hypervisor.Shutoff {
		return fmt.Errorf("set the network link of %s: domain is not running", name)
	}
	d.LinkDown = !up
	return nil
}

// LibvirtdPID reports Libvirtd, or that there is none to find.
func (f *Fake) LibvirtdPID() (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("LibvirtdPID", ""); err != nil {
		return 0, err
	}
	if f.Libvirtd == 0 {
		return 0, errors.New("the fake has no libvirtd process")
	}
	return f.Libvirtd, nil
}
