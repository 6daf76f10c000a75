// Package hypervisortest is an in-memory hypervisor.Hypervisor for tests
// that must run without libvirtd. It keeps domains in a map, records every
// call in order, and can be told to fail a method, so a test can assert what
// a caller asked for and what it left behind.
package hypervisortest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

// Call is one recorded method call.
type Call struct {
	Method string
	Domain string // "" for calls not about one domain (Accel, Domains, ...)
	Args   []any  // the arguments after ctx and the domain name
}

// Forward is a port forward added with ForwardPort.
type Forward struct{ HostPort, GuestPort int }

// Domain is what the fake knows about one domain.
type Domain struct {
	Spec           hypervisor.DomainSpec
	State          hypervisor.State
	Metadata       string
	HardLimitBytes int64
	Forwards       []Forward
	// Stats is what Stats reports for the domain while it runs.
	// FwCfg is what the fw_cfg entries held when the domain last started.
	FwCfg map[string][]byte
	// AgentSocket is where the domain's agent port listens (SetAgentSocket).
	AgentSocket string
	Stats       hypervisor.Stats
	guestStops  []func()
	// Transient is set when a running domain was undefined: like libvirt,
	// the fake keeps it until it stops, so undefining before destroying
	// shows up as a leftover domain.
	Transient bool
	// Loaded is the saved state LoadState fed in.
	Loaded []byte
	// LinkDown is set while SetLink holds the NIC's link down.
	LinkDown bool
}

// Fake is an in-memory Hypervisor. The zero value is ready to use and
// reports TCG; set AccelKind for KVM.
type Fake struct {
	AccelKind hypervisor.Accel
	// QEMUVersion is what Version reports; FakeVersion when empty.
	QEMUVersion string
	// AgentDir, when set, gives each domain that starts an agent socket
	// path in it (for a test to listen on), as libvirt names one.
	AgentDir string
	// IgnoreShutdown makes Shutdown leave the guest running, like a guest
	// that does not react to the ACPI power button.
	IgnoreShutdown bool
	// Guest, when set, plays the guest behind each port forward: it is
	// called when ForwardPort succeeds (typically to serve on
	// 127.0.0.1:hostPort), and the function it returns when the domain
	// stops. It gets the fw_cfg contents read at start, as a guest reads
	// them. It runs with the fake's lock held: keep it short.
	Guest func(spec hypervisor.DomainSpec, fwcfg map[string][]byte, hostPort, guestPort int) (stop func())
	// Libvirtd is the pid LibvirtdPID reports (a process a test stands
	// in for libvirtd); 0 reports none.
	Libvirtd int

	mu      sync.Mutex
	domains map[string]*Domain
	calls   []Call
	fail    map[string]error
	once    map[string]error // FailOnce's

	// evMu is apart from mu so a test's event reader may call the fake
	// while Emit waits for it.
	evMu sync.Mutex
	subs []*subscriber
}

type subscriber struct {
	ctx context.Context
	ch  chan hypervisor.Event
}

var _ hypervisor.Hypervisor = (*Fake)(nil)

// FailOn makes every later call of method (e.g. "Start") return err; a nil
// err makes it succeed again. The failing call is still recorded and
// changes nothing.
func (f *Fake) FailOn(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail == nil {
		f.fail = map[string]error{}
	}
	if err == nil {
		delete(f.fail, method)
		return
	}
	f.fail[method] = err
}

// FailOnce makes the next call of method return err, and only that one.
func (f *Fake) FailOnce(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.once == nil {
		f.once = map[string]error{}
	}
	f.once[method] = err
}

// Add puts a domain into the fake as if something else had defined it
// (an earlier run, another controller).
func (f *Fake) Add(name string, state hypervisor.State, metadata string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ensure()
	f.domains[name] = &Domain{Spec: hypervisor.DomainSpec{Name: name, MetadataXML: metadata}, State: state, Metadata: metadata}
}

// SetState changes a domain's state, as a guest or libvirt would.
func (f *Fake) SetState(name string, state hypervisor.State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d := f.domains[name]; d != nil {
		d.State = state
	}
}

// Domain returns a copy of the named domain, or false when there is none.
func (f *Fake) Domain(name string) (Domain, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.domains[name]
	if d == nil {
		return Domain{}, false
	}
	c := *d
	c.Forwards = slices.Clone(d.Forwards)
	return c, true
}

// Names lists every domain the fake holds, with or without metadata,
// transient ones included, sorted.
func (f *Fake) Names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for n := range f.domains {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Calls returns every recorded call in order.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Methods returns the methods called about one domain, in order.
func (f *Fake) Methods(domain string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if c.Domain == domain {
			out = append(out, c.Method)
		}
	}
	return out
}

func (f *Fake) ensure() {
	if f.domains == nil {
		f.domains = map[string]*Domain{}
	}
}

// record logs a call and returns the error the test injected for it.
// Callers hold f.mu.
func (f *Fake) record(method, domain string, args ...any) error {
	f.ensure()
	f.calls = append(f.calls, Call{Method: method, Domain: domain, Args: args})
	if err, ok := f.once[method]; ok {
		delete(f.once, method)
		return err
	}
	return f.fail[method]
}

// get returns the domain or libvirt's "no domain" error. Callers hold f.mu.
func (f *Fake) get(name string) (*Domain, error) {
	d := f.domains[name]
	if d == nil {
		return nil, fmt.Errorf("find domain %s: domain not found", name)
	}
	return d, nil
}

func (f *Fake) Accel(ctx context.Context) (hypervisor.Accel, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Accel", ""); err != nil {
		return "", "", err
	}
	if f.AccelKind != "" {
		return f.AccelKind, "fake", nil
	}
	return hypervisor.TCG, "fake", nil
}

func (f *Fake) Define(ctx context.Context, spec *hypervisor.DomainSpec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Define", spec.Name, *spec); err != nil {
		return err
	}
	// Like libvirt, the spec must render; a spec that does not is a bug.
	if _, err := spec.XML(); err != nil {
		return err
	}
	if d := f.domains[spec.Name]; d != nil && d.State == hypervisor.Shutoff {
		// A redefinition replaces the config, as libvirt's does.
		d.Spec, d.Metadata = *spec, spec.MetadataXML
		return nil
	} else if d != nil {
		// libvirt updates a running domain's persistent config; the fake
		// keeps it simple and refuses, which no vmfleet caller should hit.
		return fmt.Errorf("define domain %s: domain is running", spec.Name)
	}
	f.domains[spec.Name] = &Domain{Spec: *spec, State: hypervisor.Shutoff, Metadata: spec.MetadataXML}
	return nil
}

func (f *Fake) SetMetadata(ctx context.Context, name, xml string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("SetMetadata", name, xml); err != nil {
		return err
	}
	d, err := f.get(name)
	if err != nil {
		return err
	}
	d.Metadata = xml
	return nil
}

func (f *Fake) Start(ctx context.Context, name string, paused bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Start", name, paused); err != nil {
		return err
	}
	d, err := f.get(name)
	if err != nil {
		return err
	}
	if d.State != hypervisor.Shutoff {
		return fmt.Errorf("start domain %s: domain is already running", name)
	}
	// Like QEMU, read the fw_cfg files as the machine starts.
	d.FwCfg = map[string][]byte{}
	for name, path := range d.Spec.FwCfg {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("start domain %s: fw_cfg %s: %w", name, path, err)
		}
		d.FwCfg[name] = b
	}
	d.State = hypervisor.Running
	if paused {
		d.State = hypervisor.Paused
	}
	if f.AgentDir != "" && d.Spec.Agent != "" {
		d.AgentSocket = filepath.Join(f.AgentDir, name+".sock")
	}
	return nil
}

func (f *Fake) Resume(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Resume", name); err != nil {
		return err
	}
	d, err := f.get(name)
	if err != nil {
		return err
	}
	if d.State != hypervisor.Paused {
		return fmt.Errorf("resume domain %s: domain is not paused (%s)", name, d.State)
	}
	d.State = hypervisor.Running
	return nil
}

func (f *Fake) Pause(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Pause", name); err != nil {
		return err
	}
	d, err := f.get(name)
	if err != nil {
		return err
	}
	if d.State != hypervisor.Running {
		return fmt.Errorf("pause domain %s: domain is not running (%s)", name, d.State)
	}
	d.State = hypervisor.Paused
	return nil
}

func (f *Fake) SetMemoryHardLimit(ctx context.Context, name string, bytes int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("SetMemoryHardLimit", name, bytes); err != nil {
		return err
	}
	d, err := f.get(name)
	if err != nil {
		return err
	}
	if d.State == hypervisor.Shutoff {
		// The live limit needs a running QEMU.
		return fmt.Errorf("set memory limit of %s: domain is not running", name)
	}
	d.HardLimitBytes = bytes
	return nil
}

func (f *Fake) ForwardPort(ctx context.Context, name string, hostPort, guestPort int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("ForwardPort", name, hostPort, guestPort); err != nil {
		return err
	}
	d, err := f.get(name)
	if err != nil {
		return err
	}
	if d.State == hypervisor.Shutoff {
		// The forward goes over the monitor of a running QEMU.
		return fmt.Errorf("forward 127.0.0.1:%d to %s:%d: domain is not running", hostPort, name, guestPort)
	}
	d.Forwards = append(d.Forwards, Forward{hostPort, guestPort})
	if f.Guest != nil {
		d.guestStops = append(d.guestStops, f.Guest(d.Spec, d.FwCfg, hostPort, guestPort))
	}
	return nil
}

// KillQEMU is Kill, as the hypervisor.Hypervisor a daemon injects a
// fault through; a domain not running is an error.
func (f *Fake) KillQEMU(ctx context.Context, name string) error {
	f.mu.Lock()
	d := f.domains[name]
	err := f.record("KillQEMU", name)
	f.mu.Unlock()
	if err != nil {
		return err
	}
	if d == nil || d.State == hypervisor.Shutoff {
		return fmt.Errorf("kill the QEMU of %s: not running", name)
	}
	f.Kill(name)
	return nil
}

// Kill stops a running domain as if its QEMU died (kill -9) and emits the
// lifecycle event libvirt would.
func (f *Fake) Kill(name string) {
	f.mu.Lock()
	if d := f.domains[name]; d != nil {
		f.stop(name, d)
	}
	f.mu.Unlock()
	f.Emit(hypervisor.Event{Domain: name, Kind: hypervisor.EventStopped, Time: time.Now()})
}

func (f *Fake) Shutdown(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Shutdown", name); err != nil {
		return err
	}
	d, err := f.get(name)
	if err != nil {
		return err
	}
	if d.State != hypervisor.Running {
		return fmt.Errorf("shut down %s: domain is not running", name)
	}
	if !f.IgnoreShutdown {
		f.stop(name, d)
	}
	return nil
}

// stop turns a domain off; a transient one is gone then. Callers hold f.mu.
func (f *Fake) stop(name string, d *Domain) {
	for _, stop := range d.guestStops {
		if stop != nil {
			stop()
		}
	}
	d.guestStops = nil
	d.State = hypervisor.Shutoff
	d.Forwards = nil
	d.LinkDown = false
	d.HardLimitBytes = 0
	if d.Transient {
		delete(f.domains, name)
	}
}

func (f *Fake) Destroy(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Destroy", name); err != nil {
		return err
	}
	if d := f.domains[name]; d != nil {
		f.stop(name, d)
	}
	return nil
}

func (f *Fake) Undefine(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Undefine", name); err != nil {
		return err
	}
	d := f.domains[name]
	switch {
	case d == nil:
	case d.State == hypervisor.Shutoff:
		delete(f.domains, name)
	default:
		// libvirt keeps a running domain as transient until it stops.
		d.Transient = true
	}
	return nil
}

func (f *Fake) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	_ = f.record("Close", "")
	return nil
}

// URI names the fake, as a session names its libvirt.
func (f *Fake) URI() string { return "fake:///system" }

// Connected is always so: the fake's libvirtd never goes away.
func (f *Fake) Connected() (bool, string) { return true, "connected" }
