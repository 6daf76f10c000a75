package firewall

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Reach is what one guest may open connections to.
type Reach struct {
	HostPorts []int // on the host's 127.0.0.1, which the guest sees at 10.0.2.2
	Internet  bool  // everything that is not the host's loopback
}

// tag marks a guest's rules with its domain, so they can be found again
// after a daemon restart.
func tag(domain string) string { return "vmfleet:" + domain }

// guestRules are domain's rules, its QEMU in cgroup: chain and rule.
func guestRules(domain, cgroup string, r Reach) [][]string {
	match := []string{"-m", "cgroup", "--path", cgroup}
	comment := []string{"-m", "comment", "--comment", tag(domain)}
	var rules [][]string
	for _, p := range r.HostPorts {
		rules = append(rules, slices.Concat([]string{AllowChain, "-d", "127.0.0.1/32", "-p", "tcp"}, match,
			[]string{"-m", "tcp", "--dport", strconv.Itoa(p)}, comment, []string{"-j", "ACCEPT"}))
	}
	if !r.Internet {
		rules = append(rules,
			slices.Concat([]string{DenyChain, "-p", "tcp"}, match, comment, []string{"-j", "REJECT", "--reject-with", "tcp-reset"}),
			slices.Concat([]string{DenyChain}, match, comment, []string{"-j", "REJECT", "--reject-with", "icmp-port-unreachable"}))
	}
	return rules
}

// Cgroup is the cgroup to match a QEMU by, from its /proc/PID/cgroup: its
// place on the unified hierarchy (cgroup v2, which the cgroup match
// reads), the domain's own rather than its emulator threads'.
func Cgroup(procCgroup string) (string, error) {
	for _, line := range strings.Split(procCgroup, "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			if path.Base(p) == "emulator" {
				p = path.Dir(p)
			}
			if p == "/" || p == "" {
				break
			}
			return p, nil
		}
	}
	return "", errors.New("QEMU has no cgroup of its own on the unified hierarchy (cgroup v2), by which the firewall tells guests apart; mount cgroup2 before libvirtd starts")
}

// Admit makes domain's guest, whose QEMU runs as uid in cgroup, reach
// exactly r through an open user network: it replaces the rules the
// domain had. The new rules are in before the old go, so a guest whose
// rules change (a spare taken) is never left without.
func (g *Guard) Admit(ctx context.Context, domain string, uid int, cgroup string, r Reach) error {
	if g.uid == 0 {
		return g.Ensure(ctx) // says why not
	}
	if uid != g.uid {
		// OUTPUT jumps to the guests' chain for that user only.
		return fmt.Errorf("firewall of %s: its QEMU runs as uid %d, not as libvirt's QEMU user (uid %d) whose connections the firewall holds; use qemu:///system", domain, uid, g.uid)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.families[0] // the user network has no IPv6 (hypervisor's netdev)
	// Without the jump (a firewall flushed since the last launch) the
	// rules would hold nothing back: mend it first.
	if g.do(ctx, f.cmd, append([]string{"-w", "-C"}, g.jump()...)...) != nil {
		if err := g.ensure(ctx, f); err != nil {
			return fmt.Errorf("firewall of %s: %w", domain, err)
		}
	}
	old, err := g.rulesOf(ctx, f, domain)
	if err != nil {
		return fmt.Errorf("firewall of %s: %w", domain, err)
	}
	for _, rule := range guestRules(domain, cgroup, r) {
		if err := g.do(ctx, f.cmd, append([]string{"-w", "-A"}, rule...)...); err != nil {
			return fmt.Errorf("firewall of %s: %w", domain, err)
		}
	}
	return g.delete(ctx, f, domain, old)
}

// Forget removes domain's rules; a domain without any is fine.
func (g *Guard) Forget(ctx context.Context, domain string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.families[0]
	old, err := g.rulesOf(ctx, f, domain)
	if err != nil {
		return fmt.Errorf("firewall of %s: %w", domain, err)
	}
	return g.delete(ctx, f, domain, old)
}

// Prune removes the rules of every domain that keep says is gone: those
// a crashed daemon left. Rules hold their QEMU's cgroup until removed.
func (g *Guard) Prune(ctx context.Context, keep func(domain string) bool) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.families[0]
	all, err := g.rulesOf(ctx, f, "")
	if err != nil {
		return fmt.Errorf("prune the firewall: %w", err)
	}
	var gone [][]string
	for _, r := range all {
		if d := domainOf(r); !keep(d) {
			gone = append(gone, r)
		}
	}
	return g.delete(ctx, f, "gone domains", gone)
}

// Rules counts each domain's rules: what a guest was given (Admit) that
// is still there.
func (g *Guard) Rules(ctx context.Context) (map[string]int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	all, err := g.rulesOf(ctx, g.families[0], "")
	if err != nil {
		return nil, fmt.Errorf("list the guests' firewall rules: %w", err)
	}
	counts := map[string]int{}
	for _, r := range all {
		counts[domainOf(r)]++
	}
	return counts, nil
}

// RuleCount is how many rules Admit gives a guest that may reach r.
func RuleCount(r Reach) int {
	return len(guestRules("", "", r))
}

// Intact says whether the jump to the guests' chain and that chain are
// as Ensure left them: a cheaper look than Ensure, for a periodic check.
func (g *Guard) Intact(ctx context.Context) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, f := range g.families {
		if g.do(ctx, f.cmd, append([]string{"-w", "-C"}, g.jump()...)...) != nil {
			return false
		}
		for _, r := range f.guestRules() {
			if g.do(ctx, f.cmd, append([]string{"-w", "-C", GuestsChain}, r...)...) != nil {
				return false
			}
		}
	}
	return true
}

func (g *Guard) delete(ctx context.Context, f family, domain string, rules [][]string) error {
	for _, r := range rules {
		if err := g.do(ctx, f.cmd, append([]string{"-w", "-D"}, r...)...); err != nil {
			return fmt.Errorf("firewall of %s: remove a rule: %w", domain, err)
		}
	}
	return nil
}

// rulesOf lists domain's rules (every guest's for ""), each as iptables
// -S prints it, less its -A.
func (g *Guard) rulesOf(ctx context.Context, f family, domain string) ([][]string, error) {
	var rules [][]string
	for _, chain := range []string{AllowChain, DenyChain} {
		out, err := g.run(ctx, f.cmd, "-w", "-S", chain)
		if err != nil {
			if noChain(err) {
				continue // nothing to find: Ensure makes it
			}
			return nil, err
		}
		for _, line := range strings.Split(out, "\n") {
			fields := strings.Fields(line)
			if len(fields) < 2 || fields[0] != "-A" {
				continue
			}
			rule := fields[1:]
			for i, f := range rule {
				rule[i] = unquote(f)
			}
			if d := domainOf(rule); d != "" && (domain == "" || d == domain) {
				rules = append(rules, rule)
			}
		}
	}
	return rules, nil
}

// noChain says whether a listing failed for want of the chain: legacy
// iptables says "No chain"; iptables-nft before 1.8.11 (Debian 12's
// 1.8.9) calls a missing chain "incompatible, use 'nft' tool", as it
// calls one holding rules it cannot read. Our chains hold only rules we
// wrote, so here it means missing (go-iptables reads it so too).
func noChain(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "No chain") || strings.Contains(msg, "incompatible, use 'nft' tool")
}

// domainOf is the domain a rule is tagged with; "" for none.
func domainOf(rule []string) string {
	i := slices.Index(rule, "--comment")
	if i < 0 || i+1 >= len(rule) {
		return ""
	}
	d, ok := strings.CutPrefix(rule[i+1], "vmfleet:")
	if !ok {
		return ""
	}
	return d
}

// unquote undoes iptables -S's quoting of a value ("/machine/qemu-1"),
// which escapes quotes and backslashes; values hold no spaces here.
func unquote(field string) string {
	if len(field) < 2 || field[0] != '"' || field[len(field)-1] != '"' {
		return field
	}
	var b strings.Builder
	in := field[1 : len(field)-1]
	for i := 0; i < len(in); i++ {
		if in[i] == '\\' && i+1 < len(in) {
			i++
		}
		b.WriteByte(in[i])
	}
	return b.String()
}
