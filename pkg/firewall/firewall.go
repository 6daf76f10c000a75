// Package firewall keeps the host rules that hold each guest whose
// user-mode network is open to what it may reach.
//
// QEMU's user network maps its host address (10.0.2.2) to the host's
// 127.0.0.1 and opens the guest's other connections from the host, as
// QEMU's user. A guest reaches its dependencies' balancers and its
// opted-in host ports that way, at the speed of the user network, so the
// host must refuse the rest: every other service on the host's loopback
// (databases, admin consoles, other instances' forwards) and, unless it
// opted into the internet, everything else.
//
// As Docker and libvirt keep their own chains, OUTPUT jumps to
// VMFLEET-GUESTS for QEMU's user only. There each guest's own rules
// (Admit) tell its connections apart by the cgroup its QEMU runs in:
// VMFLEET-ALLOW accepts its host ports, VMFLEET-DENY refuses all else of
// a guest without internet. VMFLEET-EGRESS then refuses every guest's
// other connections to the loopback. QEMU's answers on the forwarded
// connections it accepted pass, and so does DNS to a loopback resolver,
// which QEMU relays for a guest with internet.
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

// The chains, in iptables and ip6tables. OUTPUT jumps to GuestsChain for
// QEMU's user; Chain is the loopback guard; AllowChain and DenyChain hold
// each guest's own rules (Admit).
const (
	Chain       = "VMFLEET-EGRESS"
	GuestsChain = "VMFLEET-GUESTS"
	AllowChain  = "VMFLEET-ALLOW"
	DenyChain   = "VMFLEET-DENY"
)

// Runner runs one iptables command and returns what it printed; tests
// keep fake tables instead.
type Runner func(ctx context.Context, cmd string, args ...string) (string, error)

// Exec runs the command on the host, its output in the error.
func Exec(ctx context.Context, cmd string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, cmd, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", cmd, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// do runs a command whose output does not matter.
func (g *Guard) do(ctx context.Context, cmd string, args ...string) error {
	_, err := g.run(ctx, cmd, args...)
	return err
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

// rules is the loopback guard's chain, in order.
func (f family) rules() [][]string {
	return [][]string{
		{"-p", "tcp", "!", "--syn", "-j", "RETURN"}, // answers on connections QEMU accepted (forwards)
		{"-p", "udp", "--dport", "53", "-j", "RETURN"},
		{"-p", "tcp", "--dport", "53", "-j", "RETURN"},
		{"-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"},
		{"-j", "REJECT", "--reject-with", f.reject},
	}
}

// guestRules is the chain every new connection of QEMU's user passes:
// what one guest may open (AllowChain), what it may not (DenyChain), then
// the loopback guard for every guest.
func (f family) guestRules() [][]string {
	return [][]string{
		{"-p", "tcp", "!", "--syn", "-j", "RETURN"},
		{"-j", AllowChain},
		{"-j", DenyChain},
		{"-o", "lo", "-d", f.loopback, "-j", Chain},
	}
}

func (g *Guard) jump() []string {
	return []string{"OUTPUT", "-m", "owner", "--uid-owner", strconv.Itoa(g.uid), "-j", GuestsChain}
}

// Ensure makes the rules present, changing only what is missing: cheap
// enough to call before every launch of a guest with an open network,
// so a flushed firewall is mended before the guest boots. It keeps the
// rules Admit added.
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
	for _, c := range []string{AllowChain, DenyChain} {
		if err := g.ensureChain(ctx, f.cmd, c); err != nil {
			return err
		}
	}
	if err := g.ensureRules(ctx, f.cmd, Chain, f.rules()); err != nil {
		return err
	}
	if err := g.ensureRules(ctx, f.cmd, GuestsChain, f.guestRules()); err != nil {
		return err
	}
	jump := g.jump()
	if g.do(ctx, f.cmd, append([]string{"-w", "-C"}, jump...)...) == nil {
		return nil
	}
	return g.do(ctx, f.cmd, append([]string{"-w", "-I", jump[0], "1"}, jump[1:]...)...)
}

func (g *Guard) ensureChain(ctx context.Context, cmd, chain string) error {
	if g.do(ctx, cmd, "-w", "-S", chain) == nil {
		return nil
	}
	err := g.do(ctx, cmd, "-w", "-N", chain)
	if err != nil && g.do(ctx, cmd, "-w", "-S", chain) == nil {
		return nil // another home's daemon on this host made it meanwhile
	}
	return err
}

// ensureRules makes chain hold exactly rules, rebuilding it whole if one
// is missing: the order of the rules is what they mean.
func (g *Guard) ensureRules(ctx context.Context, cmd, chain string, rules [][]string) error {
	if err := g.ensureChain(ctx, cmd, chain); err != nil {
		return err
	}
	for _, r := range rules {
		if g.do(ctx, cmd, append([]string{"-w", "-C", chain}, r...)...) == nil {
			continue
		}
		if err := g.do(ctx, cmd, "-w", "-F", chain); err != nil {
			return err
		}
		for _, r := range rules {
			if err := g.do(ctx, cmd, append([]string{"-w", "-A", chain}, r...)...); err != nil {
				return err
			}
		}
		return nil
	}
	return nil
}

// Lift takes the jumps to the chain out of OUTPUT, leaving the chain: QEMU
// reaches the host's loopback again until the next Ensure. The undo of the
// rule, for whoever needs the old path (a benchmark's baseline).
func (g *Guard) Lift(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	jump := g.jump()
	for _, f := range g.families {
		for g.do(ctx, f.cmd, append([]string{"-w", "-C"}, jump...)...) == nil {
			if err := g.do(ctx, f.cmd, append([]string{"-w", "-D"}, jump...)...); err != nil {
				return fmt.Errorf("lift the loopback guard: %w", err)
			}
		}
	}
	return nil
}
