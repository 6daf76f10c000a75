package instance

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

// A capped instance boots at the full speed of its vCPUs (a CPU cap slows
// the boot itself: under TCG, half a core doubles it) and gets its cap
// when it is in service, or after limits.BootBurst at the latest. The
// domain's definition always holds the cap; only the live quota bursts.

// bursts are the instances running uncapped, and when they must stop.
type bursts struct {
	mu    sync.Mutex
	until map[string]burst // by domain
}

type burst struct {
	cap   int64 // the quota to return to
	until time.Time
}

// quota is the cgroup quota of a cap of cpu cores. Rounded: 0.29*100000
// is 28999.999... in floating point.
func quota(cpu float64) int64 { return int64(math.Round(cpu * cpuPeriod)) }

// BootCPU is what a booting instance of cpu cores may use: its vCPUs
// while it bursts. The controller's boot budget counts it.
func BootCPU(cpu float64) float64 {
	if burstQuota(cpu) > 0 {
		return math.Ceil(cpu)
	}
	return cpu
}

// burstQuota is the quota of an instance's vCPUs all busy, when that is
// more than its cap (0 when it is not).
func burstQuota(cpu float64) int64 {
	full := int64(math.Ceil(cpu)) * cpuPeriod
	if full <= quota(cpu) {
		return 0
	}
	return full
}

// startBurst lifts a started domain's cap until limits.BootBurst from now.
func (m *Manager) startBurst(ctx context.Context, domain string, cpu float64) error {
	q := burstQuota(cpu)
	if q == 0 || m.NoBurst {
		return nil
	}
	if err := m.HV.SetCPUQuota(ctx, domain, q); err != nil {
		return err
	}
	m.bursts.mu.Lock()
	defer m.bursts.mu.Unlock()
	if m.bursts.until == nil {
		m.bursts.until = map[string]burst{}
	}
	m.bursts.until[domain] = burst{cap: quota(cpu), until: time.Now().Add(limits.BootBurst)}
	return nil
}

// EndBurst caps an instance that still bursts (the controller calls it
// once the instance is in service).
func (m *Manager) EndBurst(ctx context.Context, domain string) error {
	m.bursts.mu.Lock()
	b, ok := m.bursts.until[domain]
	delete(m.bursts.until, domain)
	m.bursts.mu.Unlock()
	if !ok {
		return nil
	}
	if err := m.HV.SetCPUQuota(ctx, domain, b.cap); err != nil {
		m.log().Warn("end boot burst", "domain", domain, "err", err)
		return err
	}
	return nil
}

// EndDueBursts caps the instances whose burst has run its time.
func (m *Manager) EndDueBursts(ctx context.Context, now time.Time) {
	m.bursts.mu.Lock()
	var due []string
	for d, b := range m.bursts.until {
		if !now.Before(b.until) {
			due = append(due, d)
		}
	}
	m.bursts.mu.Unlock()
	for _, d := range due {
		_ = m.EndBurst(ctx, d)
	}
}

// Bursting says whether an instance runs uncapped, and until when.
func (m *Manager) Bursting(domain string) (time.Time, bool) {
	m.bursts.mu.Lock()
	defer m.bursts.mu.Unlock()
	b, ok := m.bursts.until[domain]
	return b.until, ok
}

// forgetBurst drops a terminated instance's burst.
func (m *Manager) forgetBurst(domain string) {
	m.bursts.mu.Lock()
	defer m.bursts.mu.Unlock()
	delete(m.bursts.until, domain)
}

// Recap gives every running instance its cap: a daemon that stopped
// during a burst left it uncapped, and no one else would end it.
func (m *Manager) Recap(ctx context.Context) error {
	list, err := m.List(ctx)
	if err != nil {
		return err
	}
	for _, i := range list {
		if i.State == hypervisor.Running && i.cpuQuota > 0 && m.Owns(i) {
			if _, bursting := m.Bursting(i.Domain); !bursting {
				_ = m.HV.SetCPUQuota(ctx, i.Domain, i.cpuQuota)
			}
		}
	}
	return nil
}
