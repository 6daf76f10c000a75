package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vmfleet/vmfleet/pkg/agent"
	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/instance"
)

// Each fault an instance can be given: how it is put in place and how it
// is undone (faults.go records and times them).

// pause stops the instance's vCPUs: a hang.
func (d *Daemon) pause(ctx context.Context, inst *instance.Instance, span time.Duration) (injection, error) {
	if err := d.hv.Pause(ctx, inst.Domain); err != nil {
		return injection{}, api.Failed(err)
	}
	return injection{
		what: fmt.Sprintf("paused for %s (a hang)", span),
		end: func(ctx context.Context) (string, error) {
			return "resumed", d.hv.Resume(ctx, inst.Domain)
		},
	}, nil
}

// burnCPU has the guest's init spin on every vCPU (agent.OpBurn): what
// the group's CPU metric, read from QEMU's CPU time, sees as load. The
// guest stops when the stream closes: at the end, or if the daemon dies.
func (d *Daemon) burnCPU(ctx context.Context, inst *instance.Instance, span time.Duration) (injection, error) {
	ctx, cancel := context.WithTimeout(ctx, execStreamTimeout)
	defer cancel()
	st, err := d.links.Ensure(inst.Domain, inst.Address, inst.GuestPort).Burn(ctx, span)
	if errors.Is(err, agent.ErrNoBurn) {
		return injection{}, api.Conflict(fmt.Errorf("fault cpu: %s: %w; bake its image again (vmfleet bake, or up) and replace it", inst.ID, err))
	} else if err != nil {
		return injection{}, api.Failed(fmt.Errorf("fault cpu: reach %s's agent: %w", inst.ID, err))
	}
	return injection{
		what: fmt.Sprintf("CPU burned for %s (a busy loop on each vCPU, in its guest)", span),
		end: func(context.Context) (string, error) {
			st.Close()
			return "CPU burn stopped", nil
		},
	}, nil
}

// failChecks fails the instance's health checks, wherever the daemon runs
// them (its group's balancer, its warm pool, a target group): its
// balancer takes it out of rotation and its group replaces it, as for a
// service that stops answering them.
func (d *Daemon) failChecks(inst *instance.Instance, span time.Duration) (injection, error) {
	if inst.Address == "" {
		return injection{}, api.Invalid(fmt.Errorf("fault unhealthy: %s serves no port, so nothing checks its health", inst.ID))
	}
	end := d.faults.checks.Fail(inst.Address, errors.New("fault injected: its health checks fail (vmfleet fault unhealthy)"))
	return injection{
		what: fmt.Sprintf("its health checks fail for %s (Target.FailedHealthChecks)", span),
		end: func(context.Context) (string, error) {
			end()
			return "its health checks run again", nil
		},
	}, nil
}

// cutNetwork takes the link of the instance's NIC down: connections to
// it through its forward hang, and the guest reaches nothing. Its health
// checks run inside the guest over its agent channel, which does not
// cross the NIC, so they are failed here as an ELB's would: by timeout.
func (d *Daemon) cutNetwork(ctx context.Context, inst *instance.Instance, span time.Duration) (injection, error) {
	if err := d.hv.SetLink(ctx, inst.Domain, false); err != nil {
		return injection{}, api.Failed(fmt.Errorf("fault network: %w", err))
	}
	endChecks := func() {}
	if inst.Address != "" {
		endChecks = d.faults.checks.Fail(inst.Address, errors.New("fault injected: network cut, the check got no answer (timeout)"))
	}
	return injection{
		what: fmt.Sprintf("network cut for %s (its NIC's link down; health checks time out, Target.Timeout)", span),
		end: func(ctx context.Context) (string, error) {
			endChecks()
			return "network link up", d.hv.SetLink(ctx, inst.Domain, true)
		},
	}, nil
}
