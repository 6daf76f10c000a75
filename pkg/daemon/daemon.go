// Package daemon is vmfleet's one owner of desired state for a home: it
// keeps every fleet's record, runs one controller per fleet (its Auto
// Scaling groups and balancers), bakes what an apply needs, keeps the
// libvirt connection up across libvirtd restarts, and serves the API that
// the CLI and the test harness use through pkg/client.
package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/vmfleet/vmfleet/pkg/agent"
	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awsauth"
	"github.com/vmfleet/vmfleet/pkg/controller"
	"github.com/vmfleet/vmfleet/pkg/home"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/image"
	"github.com/vmfleet/vmfleet/pkg/instance"
	"github.com/vmfleet/vmfleet/pkg/limits"
	"github.com/vmfleet/vmfleet/pkg/metrics"
	"github.com/vmfleet/vmfleet/pkg/snapshot"
	"github.com/vmfleet/vmfleet/pkg/spare"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// Config wires a daemon.
type Config struct {
	Home    home.Home
	URI     string // libvirt
	Version string
	Log     *slog.Logger
	// Listeners makes the balancers' sockets (a supervisor's, kept open
	// across this process's death); nil listens directly.
	Listeners controller.Listeners
	// Inputs resolves the kernel and init a bake needs.
	Inputs func(kernelVersion, init string) (image.Inputs, error)
	// SupervisorPID is reported by Info; 0 when not supervised.
	SupervisorPID int
	// TCP is the optional token-guarded TCP listener's address.
	TCP string
	// MetricsURL is where Prometheus scrapes the daemon.
	MetricsURL string
	// ColdBoot boots every instance's kernel instead of restoring it from
	// a snapshot of its machine.
	ColdBoot bool
	// AWS is the AWS endpoint's settings, as info reports them; AWSKey
	// the home's access key, which requests must be signed with unless
	// AWS.Credentials is "any".
	AWS    api.AWSEndpoint
	AWSKey awsauth.Credentials
	// Dashboard is the web page's address and settings, as info reports
	// them; the page itself is package dashboard's.
	Dashboard api.Dashboard
	// Spares is how many `run` spares the daemon keeps at most (see
	// package spare); 0 for none.
	Spares int

	// Hypervisor is libvirt; nil dials URI. Unit tests give the fake.
	Hypervisor Hypervisor
	// Firewall holds the guests whose network is open; nil is the host's.
	Firewall instance.Firewall
	// HealthFloors are the least health periods a fleet runs; nil runs
	// limits.EmulationFloors. Unit tests, whose guests are host
	// processes, run lower ones.
	HealthFloors *limits.HealthFloors
	// ProbeForwards checks each instance's health through its forward
	// from the host rather than from inside its guest: unit tests, whose
	// guests are host processes with no agent.
	ProbeForwards bool
}

// Hypervisor is what the daemon asks of libvirt: every call an instance
// needs, and what info says of the connection. A hypervisor.Session is
// the real one.
type Hypervisor interface {
	hypervisor.Hypervisor
	URI() string
	Connected() (bool, string)
	// LibvirtdPID is the pid of the libvirtd it talks to, for a fault
	// that stops it; an error where there is none of this host's.
	LibvirtdPID() (int, error)
}

// Daemon owns the fleets of one home.
type Daemon struct {
	cfg       Config
	log       *slog.Logger
	hv        Hypervisor
	inv       *hypervisor.Inventory // hv, with the listing ps answers from
	images    *image.Store
	instances *instance.Manager
	state     state
	events    *hub
	metrics   *metrics.Recorder
	links     *agent.Links // the agent channel into every running instance
	spares    *spare.Pool
	started   time.Time

	// loaded is closed once Run has taken back the stored fleets: until
	// then ls and ps would show a home with fleets as empty.
	loaded chan struct{}

	mu     sync.Mutex // guards fleets and refreshes; never held across I/O
	fleets map[string]*fleetRun
	// refreshes are the instance refreshes being watched, by id.
	refreshes map[string]bool
	ctx       context.Context // the daemon's lifetime, for controllers
	// targets balance the target groups no group uses.
	targets targetBalancers
	// faults are the injected faults in force, undone as Run returns.
	faults faultSet
}

// New connects to libvirt and opens the home's stores. Run starts the
// fleets it finds recorded.
func New(ctx context.Context, cfg Config) (*Daemon, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Inputs == nil {
		cfg.Inputs = BakeInputs
	}
	hv := cfg.Hypervisor
	if hv == nil {
		continueStoppedLibvirtd(cfg.Home.Dir, cfg.Log) // before dialling it
		hv = hypervisor.Dial(ctx, cfg.URI, cfg.Log)
	}
	if cfg.Firewall == nil {
		cfg.Firewall = guestFirewall()
	}
	st, err := image.OpenStore(cfg.Home.Dir)
	if err != nil {
		hv.Close()
		return nil, err
	}
	db, err := store.Open(cfg.Home.DB())
	if err != nil {
		hv.Close()
		return nil, err
	}
	past, err := loadHistory(ctx, db)
	if err != nil {
		db.Close()
		hv.Close()
		return nil, err
	}
	// Everything that changes domains goes through the inventory, so
	// that ps, served from its listing, shows each change at once.
	inv := hypervisor.NewInventory(hv, cfg.Log)
	instances := &instance.Manager{HV: inv, Dir: cfg.Home.Instances(), Log: cfg.Log, Firewall: cfg.Firewall}
	if !cfg.ColdBoot {
		snaps, err := snapshot.Open(cfg.Home.Snapshots(), hv, instance.SnapshotSpec, cfg.Log)
		if err != nil {
			db.Close()
			hv.Close()
			return nil, err
		}
		// Snapshots of removed images, and captures a crash cut short.
		if err := snaps.Prune(); err != nil {
			cfg.Log.Warn("prune snapshots", "err", err)
		}
		instances.Snapshots = snaps
	}
	d := &Daemon{
		cfg: cfg, log: cfg.Log, hv: hv, inv: inv, images: st, state: state{db: db},
		instances: instances,
		events:    newHub(past), metrics: metrics.NewRecorder(), started: time.Now(), fleets: map[string]*fleetRun{},
		ctx:    ctx, // until Run sets its own: the API may be served before Run begins
		loaded: make(chan struct{}),
	}
	max := cfg.Spares
	if cfg.ColdBoot || max < 0 {
		max = 0
	}
	d.spares = spare.New(instances, spare.Options{Max: max, Idle: spare.DefaultIdle, Delay: spare.DefaultDelay, Log: cfg.Log})
	if cfg.HealthFloors == nil {
		f := limits.EmulationFloors()
		d.cfg.HealthFloors = &f
	}
	d.links = agent.NewLinks(func(ctx context.Context, domain string) (string, error) {
		return hv.AgentSocket(ctx, domain, agent.PortName)
	}, d.cfg.HealthFloors.Silence, cfg.Log)
	return d, nil
}

// Run starts every recorded fleet's controller (they adopt the running
// instances) and keeps them until ctx ends; the instances keep running
// for the next daemon.
func (d *Daemon) Run(ctx context.Context) error {
	defer d.hv.Close()
	defer d.state.db.Close()
	defer d.links.Close()
	defer d.spares.Close() // first: its spares' domains go while libvirt is at hand
	go d.inv.Run(ctx)
	go d.sample(ctx)
	go func() {
		if err := d.spares.Clean(ctx); err != nil {
			d.log.Warn("remove the spares a stopped daemon left", "err", err)
		}
	}()
	go d.keepFirewall(ctx)
	go func() {
		if err := d.instances.Recap(ctx); err != nil {
			d.log.Warn("cap instances a stopped daemon left bursting", "err", err)
		}
	}()
	kept := make(chan struct{})
	defer func() { <-kept }() // the last events are written before the store closes
	go func() {
		defer close(kept)
		d.events.keep(ctx, d.state.db, d.log)
	}()
	d.mu.Lock()
	d.ctx = ctx
	d.mu.Unlock()
	stacks, err := d.state.load(ctx)
	if err != nil {
		close(d.loaded)
		return err
	}
	for i := range stacks {
		name := stacks[i].Fleet.Name
		if stacks[i].Fleet.Status == store.StatusDeleteInProgress {
			// A down the last daemon did not finish: finished, not
			// resumed (a controller started again would launch first).
			go func() {
				if err := d.Down(ctx, name, limits.DefaultStopTimeout); err != nil {
					d.log.Error("finish taking a fleet down", "fleet", name, "err", err)
				}
			}()
			continue
		}
		if err := d.resume(&stacks[i]); err != nil {
			d.log.Error("resume fleet", "fleet", name, "err", err)
			d.emit(api.Event{Fleet: name, Kind: "error", Message: "could not resume: " + err.Error()})
		}
	}
	close(d.loaded)
	if err := d.SyncTargetGroups(ctx); err != nil {
		d.log.Error("serve the target groups' registered instances", "err", err)
	}
	<-ctx.Done()
	d.faults.stop() // undone while libvirt is at hand
	d.closeTargetBalancers()
	runs := d.runs()
	for _, r := range runs {
		r.stopController()
	}
	return nil
}

func (d *Daemon) emit(ev api.Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	d.events.publish(ev)
}

// Info describes the daemon.
func (d *Daemon) Info(ctx context.Context) api.Info {
	in := api.Info{
		Version: d.cfg.Version, API: api.Version, PID: os.Getpid(), Supervisor: d.cfg.SupervisorPID,
		Home: d.cfg.Home.Dir, Socket: d.cfg.Home.Socket(), TCP: d.cfg.TCP, LibvirtURI: d.hv.URI(), Started: d.started,
		MetricsURL: d.cfg.MetricsURL, DefaultTimeScale: limits.DefaultTimeScale, AWS: d.cfg.AWS, Dashboard: d.cfg.Dashboard,
	}
	in.Launch = d.launchInfo()
	_, in.Libvirt = d.hv.Connected()
	// Asked once, then known: info must answer with libvirtd stalled.
	actx, cancel := context.WithTimeout(ctx, infoAccelWait)
	defer cancel()
	if acc, why, err := d.hv.Accel(actx); err == nil {
		in.Accel, in.AccelReason = string(acc), why
	}
	d.mu.Lock()
	in.Fleets = len(d.fleets)
	d.mu.Unlock()
	return in
}

// waitLoaded waits, at most loadWait, until Run has taken back the stored
// fleets, so that a daemon just started does not answer ls or ps as if
// its home were empty.
func (d *Daemon) waitLoaded(ctx context.Context) {
	t := time.NewTimer(loadWait)
	defer t.Stop()
	select {
	case <-d.loaded:
	case <-ctx.Done():
	case <-t.C:
	}
}

// loadWait bounds waitLoaded: taking fleets back reads the store and
// binds balancers; libvirt calls in it are bounded on their own.
const loadWait = 10 * time.Second

// infoAccelWait bounds Info's first question to libvirtd.
const infoAccelWait = time.Second

// Instances lists every instance libvirt has for this home, with health
// and phase from its fleet's controller. It answers from what the daemon
// knows (the inventory's listing, the controllers' status), never
// waiting on libvirtd beyond a change just made.
func (d *Daemon) Instances(ctx context.Context) ([]api.InstanceRow, error) {
	d.waitLoaded(ctx)
	list, err := d.instances.Known(ctx)
	if err != nil {
		return nil, api.Failed(fmt.Errorf("list instances: %w", err))
	}
	known := map[string]api.Instance{}
	for _, f := range d.Statuses() {
		for _, s := range f.Services {
			for _, i := range s.Instances {
				known[i.ID] = i
			}
		}
	}
	rows := []api.InstanceRow{}
	for _, i := range sortedInstances(list) {
		if !d.owns(i) {
			continue
		}
		r := rowOf(i)
		if k, ok := known[i.ID]; ok {
			r.Health, r.Phase, r.Protected = k.Health, k.Phase, k.Protected
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// owns says whether an instance belongs to this home: a daemon adopts and
// lists only its own.
func (d *Daemon) owns(i *instance.Instance) bool {
	return d.instances.Owns(i)
}

// Statuses is every fleet as its controller last published it.
func (d *Daemon) Statuses() []api.Fleet {
	runs := d.runs()
	var out []api.Fleet
	for _, r := range runs {
		if st, ok := r.status(); ok {
			out = append(out, st)
		}
	}
	return out
}

// launchInfo says how instances start, and from which snapshots.
func (d *Daemon) launchInfo() api.Launch {
	snaps := d.instances.Snapshots
	if snaps == nil {
		return api.Launch{Mode: api.LaunchColdBoot, Reason: "the daemon runs with --cold-boot (VMFLEET_COLD_BOOT)", Snapshots: []api.Snapshot{}}
	}
	l := api.Launch{Mode: api.LaunchSnapshot, Snapshots: []api.Snapshot{}, Spares: []api.Spare{}}
	for _, sb := range d.spares.List() {
		l.Spares = append(l.Spares, api.Spare{Kind: sb.Kind, Instance: sb.Instance, Made: sb.Made})
	}
	list, err := snaps.List()
	if err != nil {
		d.log.Warn("list snapshots", "err", err)
	}
	for _, t := range list {
		l.Snapshots = append(l.Snapshots, api.Snapshot{
			Key: t.Key, VCPUs: t.Shape.VCPUs, MemoryMiB: t.Shape.MemoryMiB, Accel: string(t.Shape.Accel), QEMU: t.Shape.QEMU,
			Kernel: t.Shape.Kernel, KernelDigest: t.KernelDigest, InitrdDigest: t.InitrdDigest,
			StateBytes: t.StateBytes, Created: t.Created, CaptureSeconds: t.Took.Seconds(),
		})
	}
	return l
}
