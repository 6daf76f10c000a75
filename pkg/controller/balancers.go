package controller

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/vmfleet/vmfleet/pkg/balancer"
	"github.com/vmfleet/vmfleet/pkg/health"
	"github.com/vmfleet/vmfleet/pkg/instance"
)

// Listeners hands out listening sockets and takes back those no longer
// wanted.
type Listeners interface {
	Listen(ctx context.Context, addr string) (net.Listener, error)
	Release(addr string)
}

// Listen starts every service's balancer. A fixed address in use fails
// here, before any instance is launched; nothing is left listening.
func (c *Controller) Listen(ctx context.Context) (err error) {
	c.ctx = ctx
	defer func() {
		if err != nil {
			for _, s := range c.services {
				if s.bal != nil {
					c.release(s)
				}
			}
		}
	}()
	for _, name := range c.order {
		if err := c.listen(c.services[name]); err != nil {
			return err
		}
	}
	c.discovery()
	c.publish()
	return nil
}

// listen starts one service's balancer on its address (or, for a free
// port, the one an earlier controller chose, which dependents were told).
func (c *Controller) listen(s *service) error {
	name := s.spec.Name
	b, err := balancer.New(balancer.Options{
		Check:               c.checkOf(s.spec.TargetGroup.HealthCheck),
		DeregistrationDelay: c.deregistrationDelay(s.spec.TargetGroup.DeregistrationDelay),
		NoReplay:            !s.spec.TargetGroup.Replay,
		Probe:               c.prober(),
		Watch:               c.watcher(),
		OnTransition:        c.report,
		Logger:              c.log.With("service", name),
	})
	if err != nil {
		return fmt.Errorf("service %s balancer: %w", name, err)
	}
	ln := s.spec.LoadBalancer.Listener
	addr := ln.Listen
	if addr == "" {
		// A group no listener forwards to (an API group without a
		// target group, or one whose load balancer has no listener
		// yet): its targets are health-checked, and no traffic comes.
		s.bal = b
		return nil
	}
	if ln.Bound != "" && strings.HasSuffix(addr, ":0") {
		addr = ln.Bound
	}
	sock, err := c.bind(addr)
	if err != nil {
		b.Close()
		return fmt.Errorf("service %s balancer: %w; change balancer.listen in %s or stop what uses it", name, err, c.opts.Stack.Fleet.File)
	}
	s.bal, s.ln, s.listen = b, sock, sock.Addr().String()
	if c.running {
		c.serve(s)
	}
	c.emit(name, "", "listening", "balancer on %s", s.listen)
	return nil
}

// report hands a health check's transition, the balancer's or the warm
// pool's, to the owner goroutine.
func (c *Controller) report(tr health.Transition) {
	select {
	case c.health <- tr:
	case <-c.ctx.Done():
	}
}

// bind gets the balancer's listening socket. It is served only from Run,
// once the running instances are adopted: until then new connections
// wait in the kernel's backlog rather than meet a balancer with no
// targets (after a daemon restart the socket is the old one).
func (c *Controller) bind(addr string) (net.Listener, error) {
	addr, err := balancer.ListenAddr(addr)
	if err != nil {
		return nil, err
	}
	if c.opts.Listeners == nil {
		var lc net.ListenConfig
		return lc.Listen(c.ctx, "tcp", addr)
	}
	return c.opts.Listeners.Listen(c.ctx, addr)
}

// serve starts a bound balancer serving; from Run, or for a service a
// reload adds while Run runs.
func (c *Controller) serve(s *service) {
	if s.ln == nil {
		return
	}
	// Not c.ctx: when the controller stops, Run shuts the balancers down
	// gracefully rather than cut the connections in flight.
	if _, err := s.bal.Start(context.WithoutCancel(c.ctx), s.ln); err != nil {
		c.emit(s.spec.Name, "", "error", "serve balancer: %v", err)
	}
	s.ln = nil
}

// release closes a balancer for good: its port is not wanted again.
func (c *Controller) release(s *service) {
	s.bal.Close()
	if s.ln != nil {
		s.ln.Close()
	}
	if c.opts.Listeners != nil && s.listen != "" {
		c.opts.Listeners.Release(s.listen)
	}
}

// discovery gives each service its dependencies' balancer addresses, as
// the guest reaches them at the user-mode network's gateway, and the host
// ports its guests may reach: those balancers and its egress host ports.
func (c *Controller) discovery() {
	for _, s := range c.services {
		s.env, s.reach = nil, slices.Clone(s.spec.LaunchTemplate.Egress.HostPorts)
		for _, dep := range s.spec.LaunchTemplate.DependsOn {
			if d := c.services[dep]; d != nil {
				_, port, _ := net.SplitHostPort(d.listen)
				s.env = append(s.env, envName(dep)+"_ADDR="+net.JoinHostPort(GuestHostAddr, port))
				if p, err := strconv.Atoi(port); err == nil && !slices.Contains(s.reach, p) {
					s.reach = append(s.reach, p)
				}
			}
		}
	}
}

// prober is how the balancers' health checks run: inside the guest,
// through its agent, so a check passes only when the service itself
// accepts (QEMU's forward accepts for any guest).
func (c *Controller) prober() health.Prober {
	var p health.Prober
	if c.opts.Links != nil {
		p = c.opts.Links.ProbeTarget
	}
	return c.opts.HealthFaults.Probe(p)
}

// watcher has those checks run by the guest's agent on its own schedule:
// it reports only changes and heartbeats, where probes cost the daemon a
// round trip per instance per interval.
func (c *Controller) watcher() health.Watcher {
	if c.opts.Links == nil {
		return nil
	}
	return c.opts.HealthFaults.Watch(c.opts.Links.WatchTarget)
}

// link keeps the agent channel of a running instance.
func (c *Controller) link(inst *instance.Instance) {
	if c.opts.Links != nil {
		c.opts.Links.Ensure(inst.Domain, inst.Address, inst.GuestPort)
	}
}

// unlink closes it.
func (c *Controller) unlink(inst *instance.Instance) {
	if c.opts.Links != nil {
		c.opts.Links.Drop(inst.Domain)
	}
}

func envName(service string) string {
	return strings.ToUpper(strings.ReplaceAll(service, "-", "_"))
}

// Addresses returns every balancer's listen address by service.
func (c *Controller) Addresses() map[string]string {
	out := map[string]string{}
	for n, s := range c.services {
		out[n] = s.listen
	}
	return out
}

// shutdownBalancers stops accepting and lets the connections in flight
// finish, within drainOnStop: a restarted daemon's balancers take over the
// same sockets, so this is what makes an upgrade lose no request.
func (c *Controller) shutdownBalancers() {
	ctx, cancel := context.WithTimeout(context.Background(), drainOnStop)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range c.services {
		if s.bal != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.bal.Shutdown(ctx)
			}()
		}
	}
	wg.Wait()
	for _, s := range c.services {
		if s.ln != nil {
			s.ln.Close()
		}
	}
}
