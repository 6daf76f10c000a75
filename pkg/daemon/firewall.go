package daemon

import (
	"context"
	"os/user"
	"time"

	"github.com/vmfleet/vmfleet/pkg/firewall"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/instance"
)

// firewallCheckEvery is how often the daemon looks for guests' firewall
// rules a flush took (a firewall reloaded by another tool): a few
// iptables listings each time.
const firewallCheckEvery = 10 * time.Second

// guestFirewall holds the guests whose network is open to what each may
// reach; none where QEMU's user is unknown (launches of such guests say
// so).
func guestFirewall() instance.Firewall {
	uid, ok := hypervisor.QEMUUser(user.Lookup)
	if !ok {
		return nil
	}
	return firewall.New(uid, nil)
}

// keepFirewall removes, as the daemon starts, the rules a killed daemon
// left, and from then on puts back the rules of running guests that a
// flush took, until ctx ends.
func (d *Daemon) keepFirewall(ctx context.Context) {
	prune := true
	tick := time.NewTicker(firewallCheckEvery)
	defer tick.Stop()
	for {
		if err := d.instances.CheckFirewall(ctx, prune); err != nil {
			d.log.Warn("check the guests' firewall rules", "err", err)
		} else {
			prune = false
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
