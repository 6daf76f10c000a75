package hypervisortest

import (
	"context"
	"fmt"
	"io"

	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

// FakeVersion is the QEMU version the fake reports unless QEMUVersion is set.
const FakeVersion = "7.2.0-fake"

// Create defines a transient domain and starts it, as libvirt's
// DomainCreateXML does.
func (f *Fake) Create(ctx context.Context, spec *hypervisor.DomainSpec, paused bool) error {
	if err := f.Define(ctx, spec); err != nil {
		return err
	}
	if err := f.Start(ctx, spec.Name, paused); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.domains[spec.Name].Transient = true
	return nil
}

func (f *Fake) Version(ctx context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Version", ""); err != nil {
		return "", err
	}
	if f.QEMUVersion != "" {
		return f.QEMUVersion, nil
	}
	return FakeVersion, nil
}

// SaveState writes "state of NAME" and leaves the domain paused.
func (f *Fake) SaveState(ctx context.Context, name, dir string, w io.Writer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("SaveState", name, dir); err != nil {
		return err
	}
	d, err := f.get(name)
	if err != nil {
		return err
	}
	if d.State != hypervisor.Running {
		return fmt.Errorf("save %s: domain is %s", name, d.State)
	}
	d.State = hypervisor.Paused
	_, err = fmt.Fprintf(w, "state of %s", name)
	return err
}

// LoadState reads the state into Domain.Loaded; the domain must have
// been started paused from a spec with Incoming, as QEMU insists.
func (f *Fake) LoadState(ctx context.Context, name string, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("LoadState", name); err != nil {
		return err
	}
	d, err := f.get(name)
	if err != nil {
		return err
	}
	if d.State != hypervisor.Paused || !d.Spec.Incoming {
		return fmt.Errorf("load the state of %s: QEMU is not waiting for one (state %s, incoming %v)", name, d.State, d.Spec.Incoming)
	}
	d.Loaded = b
	return nil
}

// SetCPUQuota changes the running domain's quota, which Limits reads.
func (f *Fake) SetCPUQuota(ctx context.Context, name string, quota int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("SetCPUQuota", name, quota); err != nil {
		return err
	}
	d, err := f.get(name)
	if err != nil {
		return err
	}
	if d.State == hypervisor.Shutoff {
		return fmt.Errorf("set the cpu quota of %s: domain is not running", name)
	}
	d.Spec.CPUQuota = quota
	return nil
}
