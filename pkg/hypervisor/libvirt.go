package hypervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-qemu/qmp"

	"libvirt.org/go/libvirtxml"
)

// DefaultURI is libvirt's system QEMU driver, as virsh uses it.
const DefaultURI = "qemu:///system"

// ChooseURI picks the connection like virsh: the flag, else
// LIBVIRT_DEFAULT_URI, else qemu:///system.
func ChooseURI(flag string, getenv func(string) string) string {
	if flag != "" {
		return flag
	}
	if v := getenv("LIBVIRT_DEFAULT_URI"); v != "" {
		return v
	}
	return DefaultURI
}

// Libvirt is a Hypervisor over a go-libvirt connection.
type Libvirt struct {
	uri *url.URL
	l   *libvirt.Libvirt
	raw *rawDialer // nil for remote transports
	mu  sync.Mutex // go-libvirt is safe for concurrent calls; this guards accel
	acc Accel
	why string
}

func rootCause(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

// Close says goodbye to libvirtd, but does not wait on one that stopped
// answering.
func (h *Libvirt) Close() error {
	done := make(chan error, 1)
	go func() { done <- h.l.Disconnect() }()
	select {
	case err := <-done:
		return err
	case <-time.After(closeWait):
		h.abort()
		return errors.New("libvirtd did not answer the close; dropped the connection")
	}
}

// closeWait is how long Close waits for libvirtd to acknowledge.
const closeWait = 2 * time.Second

func (h *Libvirt) lookup(name string) (libvirt.Domain, error) {
	d, err := h.l.DomainLookupByName(name)
	if err != nil {
		return d, fmt.Errorf("find domain %s: %w", name, err)
	}
	return d, nil
}

// Accel picks KVM when libvirt can use it for guests and TCG otherwise.
// VMFLEET_ACCEL=kvm|tcg overrides. On a local host whose KVM is the PVM
// flavour (kvm_pvm without kvm_intel/kvm_amd: nested sandboxes), stock
// guest kernels hang at boot, so TCG is chosen there.
func (h *Libvirt) Accel(ctx context.Context) (Accel, string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.acc != "" {
		return h.acc, h.why, nil
	}
	switch strings.ToLower(os.Getenv("VMFLEET_ACCEL")) {
	case "kvm":
		h.acc, h.why = KVM, "VMFLEET_ACCEL=kvm"
		return h.acc, h.why, nil
	case "tcg", "qemu":
		h.acc, h.why = TCG, "VMFLEET_ACCEL=tcg"
		return h.acc, h.why, nil
	}
	arch := libvirt.OptString{"x86_64"}
	virt := libvirt.OptString{"kvm"}
	if _, err := h.l.ConnectGetDomainCapabilities(nil, arch, nil, virt, 0); err != nil {
		h.acc, h.why = TCG, "KVM is not available to libvirt (no usable /dev/kvm); guests run under TCG, slower"
		return h.acc, h.why, nil
	}
	if h.uri.Host == "" && isPVM() {
		h.acc, h.why = TCG, "this host's KVM is PVM (kvm_pvm), which boots only PVM-built guest kernels; guests run under TCG"
		return h.acc, h.why, nil
	}
	h.acc, h.why = KVM, "KVM is available"
	return h.acc, h.why, nil
}

func isPVM() bool {
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	return exists("/sys/module/kvm_pvm") && !exists("/sys/module/kvm_intel") && !exists("/sys/module/kvm_amd")
}

func isCode(err error, code libvirt.ErrorNumber) bool {
	var le libvirt.Error
	return errors.As(err, &le) && le.Code == uint32(code)
}

func (h *Libvirt) Domains(ctx context.Context) ([]Domain, error) {
	doms, _, err := h.l.ConnectListAllDomains(1, 0)
	if err != nil {
		return nil, fmt.Errorf("list domains: %w", err)
	}
	// Two calls a domain: made concurrently (libvirtd serves them with its
	// worker pool), a listing of 50 takes a few round trips, not 100.
	out := make([]*Domain, len(doms))
	sem := make(chan struct{}, domainsInFlight)
	var wg sync.WaitGroup
	for i, d := range doms {
		if !strings.HasPrefix(d.Name, "vmfleet-") {
			continue // not ours: skip the calls
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			md, err := h.l.DomainGetMetadata(d, int32(libvirt.DomainMetadataElement), libvirt.OptString{MetadataNamespace}, libvirt.DomainAffectCurrent)
			if err != nil {
				return // no vmfleet metadata, or gone meanwhile
			}
			state, _, err := h.l.DomainGetState(d, 0)
			if err != nil {
				return
			}
			out[i] = &Domain{Name: d.Name, State: stateOf(libvirt.DomainState(state)), Metadata: md}
		}()
	}
	wg.Wait()
	var list []Domain
	for _, d := range out {
		if d != nil {
			list = append(list, *d)
		}
	}
	return list, nil
}

// domainsInFlight bounds Domains' concurrent calls, below libvirtd's
// default max_client_requests (5) times a margin of its workers.
const domainsInFlight = 5

func stateOf(s libvirt.DomainState) State {
	switch s {
	case libvirt.DomainRunning, libvirt.DomainBlocked:
		// Blocked (virsh: "idle") is a running guest waiting on something.
		return Running
	case libvirt.DomainPaused:
		return Paused
	case libvirt.DomainShutoff:
		return Shutoff
	case libvirt.DomainCrashed:
		return Crashed
	case libvirt.DomainShutdown:
		return Stopping
	}
	return Other
}

func (h *Libvirt) AgentSocket(ctx context.Context, name, port string) (string, error) {
	d, err := h.lookup(name)
	if err != nil {
		return "", err
	}
	socks, err := h.channelSockets(d)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	if p, ok := socks[port]; ok {
		return p, nil
	}
	return "", fmt.Errorf("domain %s has no running %s port (defined before vmfleet had one? relaunch it)", name, port)
}

// channelSockets are the unix sockets libvirt named for the running
// domain's virtio-serial ports, by port name.
func (h *Libvirt) channelSockets(d libvirt.Domain) (map[string]string, error) {
	raw, err := h.l.DomainGetXMLDesc(d, 0)
	if err != nil {
		return nil, fmt.Errorf("read the live xml: %w", err)
	}
	var dom libvirtxml.Domain
	if err := dom.Unmarshal(raw); err != nil {
		return nil, fmt.Errorf("parse the live xml: %w", err)
	}
	out := map[string]string{}
	if dom.Devices != nil {
		for _, ch := range dom.Devices.Channels {
			if ch.Target != nil && ch.Target.VirtIO != nil && ch.Source != nil && ch.Source.UNIX != nil && ch.Source.UNIX.Path != "" {
				out[ch.Target.VirtIO.Name] = ch.Source.UNIX.Path
			}
		}
	}
	return out, nil
}

func (h *Libvirt) Limits(ctx context.Context, name string) (Limits, error) {
	d, err := h.lookup(name)
	if err != nil {
		return Limits{}, err
	}
	var lim Limits
	sched, err := h.l.DomainGetSchedulerParametersFlags(d, 16, uint32(libvirt.DomainAffectLive))
	if err != nil {
		return lim, fmt.Errorf("read cpu limits of %s: %w", name, err)
	}
	for _, p := range sched {
		switch p.Field {
		case "global_period":
			lim.CPUPeriod, _ = p.Value.I.(uint64)
		case "global_quota":
			lim.CPUQuota, _ = p.Value.I.(int64)
		}
	}
	mem, _, err := h.l.DomainGetMemoryParameters(d, 8, uint32(libvirt.DomainAffectLive))
	if err != nil {
		return lim, fmt.Errorf("read memory limits of %s: %w", name, err)
	}
	for _, p := range mem {
		if p.Field == libvirt.DomainMemoryHardLimit {
			lim.MemoryHardLimitKiB, _ = p.Value.I.(uint64)
		}
	}
	return lim, nil
}

func (h *Libvirt) Stats(ctx context.Context) (map[string]Stats, error) {
	recs, err := h.l.ConnectGetAllDomainStats(nil, uint32(libvirt.DomainStatsCPUTotal|libvirt.DomainStatsBalloon|libvirt.DomainStatsInterface|libvirt.DomainStatsBlock), uint32(libvirt.ConnectGetAllDomainsStatsRunning))
	if err != nil {
		return nil, fmt.Errorf("domain stats: %w", err)
	}
	now := time.Now()
	out := map[string]Stats{}
	for _, r := range recs {
		st := Stats{Time: now}
		var available, usable uint64
		for _, p := range r.Params {
			v, _ := p.Value.I.(uint64)
			switch p.Field {
			case "cpu.time":
				st.CPUTime = time.Duration(v)
			case "balloon.rss":
				st.RSSKiB = v
			case "balloon.maximum":
				st.MemoryKiB = v
			case "balloon.available":
				available = v
			case "balloon.usable":
				usable = v
			default:
				// net.N.rx.bytes, block.N.wr.bytes: summed over devices.
				switch {
				case strings.HasPrefix(p.Field, "net.") && strings.HasSuffix(p.Field, ".rx.bytes"):
					st.NetRxBytes += v
				case strings.HasPrefix(p.Field, "net.") && strings.HasSuffix(p.Field, ".tx.bytes"):
					st.NetTxBytes += v
				case strings.HasPrefix(p.Field, "block.") && strings.HasSuffix(p.Field, ".rd.bytes"):
					st.BlockReadBytes += v
				case strings.HasPrefix(p.Field, "block.") && strings.HasSuffix(p.Field, ".wr.bytes"):
					st.BlockWriteBytes += v
				}
			}
		}
		if available > usable {
			st.GuestUsedKiB = available - usable
		}
		out[r.Dom.Name] = st
	}
	return out, nil
}

func (h *Libvirt) Events(ctx context.Context) (<-chan Event, error) {
	in, err := h.l.LifecycleEvents(ctx)
	if err != nil {
		return nil, fmt.Errorf("subscribe to lifecycle events: %w", err)
	}
	out := make(chan Event)
	go func() {
		defer close(out)
		for m := range in {
			ev := Event{Domain: m.Dom.Name, Detail: m.Detail, Time: time.Now(), Kind: EventOther}
			switch libvirt.DomainEventType(m.Event) {
			case libvirt.DomainEventStarted:
				ev.Kind = EventStarted
			case libvirt.DomainEventStopped:
				ev.Kind = EventStopped
				if libvirt.DomainEventStoppedDetailType(m.Detail) == libvirt.DomainEventStoppedCrashed {
					ev.Kind = EventCrashed
				}
			case libvirt.DomainEventCrashed:
				ev.Kind = EventCrashed
			case libvirt.DomainEventShutdown:
				ev.Kind = EventShutdown
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// monitor is a go-qemu qmp.Monitor over libvirt's QEMU monitor passthrough,
// reusing our connection instead of opening another.
type monitor struct {
	l *libvirt.Libvirt
	d libvirt.Domain
}

func (m *monitor) Connect() error    { return nil }
func (m *monitor) Disconnect() error { return nil }

func (m *monitor) Run(cmd []byte) ([]byte, error) {
	out, err := m.l.QEMUDomainMonitorCommand(m.d, string(cmd), 0)
	if err != nil {
		return nil, err
	}
	return qmpReply([]byte(out))
}

// qmpReply is a QMP reply, or its error: libvirt hands QMP errors back
// inside the reply, where go-qemu's typed commands do not look.
func qmpReply(out []byte) ([]byte, error) {
	var reply struct {
		Error *struct {
			Class, Desc string
		} `json:"error"`
	}
	if json.Unmarshal(out, &reply) == nil && reply.Error != nil {
		return nil, fmt.Errorf("qmp %s: %s", reply.Error.Class, reply.Error.Desc)
	}
	return out, nil
}

func (m *monitor) Events(context.Context) (<-chan qmp.Event, error) {
	return nil, errors.New("events are not available through libvirt's monitor passthrough")
}

// lost is closed when the connection to libvirtd is gone.
func (h *Libvirt) lost() <-chan struct{} { return h.l.Disconnected() }
