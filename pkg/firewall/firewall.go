// Package firewall keeps the host rules that hold guests off the host's
// own loopback when their user-mode network is open (egress.internet).
//
// QEMU's user network maps its own address in the guest's network to the
// host's 127.0.0.1, and QEMU 7.2 has no switch to stop it; a restricted
// network reaches nothing, but an open one would reach every service on
// the host's loopback (databases, admin consoles, other instances'
// forwards). So new connections that QEMU's user opens to the loopback
// are refused, as Docker and libvirt keep their own chains: one chain,
// VMFLEET-EGRESS, jumped to from OUTPUT for that user only. QEMU's
// answers on the forwarded connections it accepted still pass, and so
// does DNS, which QEMU relays to the host's resolver, sometimes a
// loopback stub.
package firewall

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
)

// Chain is the chain the rules live in, in iptables and ip6tables.
const Chain = "VMFLEET-EGRESS"

// Runner runs one iptables command; tests record them instead.
type Runner func(ctx context.Context, cmd string, args ...string) error

// Exec runs the command on the host, its output in the error.
func Exec(ctx context.Context, cmd string, args ...string) error {
	out, err := exec.CommandContext(ctx, cmd, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", cmd, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Guard installs the rules for QEMU's user, and puts back any missing.
type Guard struct {
	uid      int
	run      Runner
	families []family
	mu       sync.Mutex // one Ensure at a time: the checks and fixes interleave otherwise
}

// New returns a Guard for QEMU running as uid; nil run is Exec. A host
// without IPv6 has no ::1 to guard, and often no ip6tables tables.
func New(uid int, run Runner) *Guard {
	if run == nil {
		run = Exec
	}
	g := &Guard{uid: uid, run: run, families: families}
	if _, err := os.Stat("/proc/net/if_inet6"); err != nil {
		g.families = families[:1]
	}
	return g
}

// family is one of iptables' address families.
type family struct {
	cmd, loopback, reject string
}

var families = []family{
	{"iptables", "127.0.0.0/8", "icmp-port-unreachable"},
	{"ip6tables", "::1/128", "icmp6-adm-prohibited"},
}

// rules is the chain, in order.
func (f family) rules() [][]string {
	return [][]string{
		{"-p", "tcp", "!", "--syn", "-j", "RETURN"}, // answers on connections QEMU accepted (forwards)
		{"-p", "udp", "--dport", "53", "-j", "RETURN"},
		{"-p", "tcp", "--dport", "53", "-j", "RETURN"},
		{"-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"},
		{"-j", "REJECT", "--reject-with", f.reject},
	}
}

func (g *Guard) jump(f family) []string {
	return []string{"OUTPUT", "-o", "lo", "-d", f.loopback, "-m", "owner", "--uid-owner", strconv.Itoa(g.uid), "-j", Chain}
}

// Ensure makes the rules present, changing only what is missing: cheap
// enough to call before every launch of a guest with an open network,
// so a flushed firewall is mended before the guest boots.
func (g *Guard) Ensure(ctx context.Context) error {
	if g.uid == 0 {
		return errors.New("QEMU runs as root here, and refusing root's connections to the loopback would cut the host off itself; set user in /etc/libvirt/qemu.conf")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, f := range g.families {
		if err := g.ensure(ctx, f); err != nil {
			return fmt.Errorf("keep guests off the host's loopback: %w", err)
		}
	}
	return nil
}

func (g *Guard) ensure(ctx context.Context, f family) error {
	if g.run(ctx, f.cmd, "-w", "-S", Chain) != nil {
		if err := g.run(ctx, f.cmd, "-w", "-N", Chain); err != nil {
			return err
		}
	}
	complete := true
	for _, r := range f.rules() {
		if g.run(ctx, f.cmd, append([]string{"-w", "-C", Chain}, r...)...) != nil {
			complete = false
			break
		}
	}
	if !complete { // rebuilt whole: the order of the rules is what they mean
		if err := g.run(ctx, f.cmd, "-w", "-F", Chain); err != nil {
			return err
		}
		for _, r := range f.rules() {
			if err := g.run(ctx, f.cmd, append([]string{"-w", "-A", Chain}, r...)...); err != nil {
				return err
			}
		}
	}
	jump := g.jump(f)
	if g.run(ctx, f.cmd, append([]string{"-w", "-C"}, jump...)...) == nil {
		return nil
	}
	return g.run(ctx, f.cmd, append([]string{"-w", "-I", jump[0], "1"}, jump[1:]...)...)
}

// Lift takes the jumps to the chain out of OUTPUT, leaving the chain: QEMU
// reaches the host's loopback again until the next Ensure. The undo of the
// rule, for whoever needs the old path (a benchmark's baseline).
func (g *Guard) Lift(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, f := range g.families {
		jump := g.jump(f)
		for g.run(ctx, f.cmd, append([]string{"-w", "-C"}, jump...)...) == nil {
			if err := g.run(ctx, f.cmd, append([]string{"-w", "-D"}, jump...)...); err != nil {
				return fmt.Errorf("lift the loopback guard: %w", err)
			}
		}
	}
	return nil
}
