package firewall

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// fakeTables is iptables and ip6tables as far as Guard uses them: chains
// of rules, each rule its arguments joined.
type fakeTables struct {
	chains  map[string]map[string][]string // cmd → chain → rules
	changes []string                       // every command that changed something
	missing bool                           // no iptables on this host
	// before runs ahead of each command: another process's commands in
	// between ours.
	before func(cmd string, args []string)
}

func newFakeTables() *fakeTables {
	t := &fakeTables{chains: map[string]map[string][]string{}}
	for _, f := range families {
		t.chains[f.cmd] = map[string][]string{"OUTPUT": nil}
	}
	return t
}

func (t *fakeTables) run(_ context.Context, cmd string, args ...string) (string, error) {
	if t.missing {
		return "", errors.New(`exec: "` + cmd + `": executable file not found in $PATH`)
	}
	if args[0] != "-w" {
		return "", errors.New("not waiting for the xtables lock")
	}
	if t.before != nil {
		t.before(cmd, args)
	}
	out, err := t.apply(cmd, args)
	if err == nil && args[1] != "-S" && args[1] != "-C" {
		t.changes = append(t.changes, cmd+" "+strings.Join(args, " "))
	}
	return out, err
}

// apply is one command on the tables; -S prints as iptables does, with
// its values quoted.
func (t *fakeTables) apply(cmd string, args []string) (string, error) {
	op, chain, rule := args[1], args[2], strings.Join(args[3:], " ")
	chains := t.chains[cmd]
	rules, exists := chains[chain]
	switch {
	case op == "-S" && !exists:
		// iptables-nft before 1.8.11 (Debian 12's 1.8.9) says so of a
		// chain that is not there; legacy says "No chain".
		return "", errors.New("iptables v1.8.9 (nf_tables): chain `" + chain + "' in table `filter' is incompatible, use 'nft' tool.")
	case op == "-C" || op == "-D":
		if !exists {
			return "", errors.New("iptables: Bad rule (does a matching rule exist in that chain?).")
		}
	case op == "-F" || op == "-A" || op == "-I":
		if !exists {
			return "", errors.New("iptables: No chain/target/match by that name.")
		}
	}
	switch op {
	case "-S":
		out := "-N " + chain + "\n"
		for _, r := range rules {
			out += "-A " + chain + " " + quoteValues(r) + "\n"
		}
		return out, nil
	case "-C":
		if !slices.Contains(rules, rule) {
			return "", errors.New("Bad rule (does a matching rule exist in that chain?)")
		}
		return "", nil
	case "-N":
		if exists {
			return "", errors.New("Chain already exists")
		}
		chains[chain] = nil
	case "-F":
		chains[chain] = nil
	case "-D":
		i := slices.Index(rules, rule)
		if i < 0 {
			return "", errors.New("Bad rule (does a matching rule exist in that chain?)")
		}
		chains[chain] = slices.Delete(rules, i, i+1)
	case "-A":
		chains[chain] = append(rules, rule)
	case "-I":
		pos, rest, _ := strings.Cut(rule, " ")
		if pos != "1" {
			return "", errors.New("only inserts at the top")
		}
		chains[chain] = append([]string{rest}, rules...)
	default:
		return "", errors.New("unknown op " + op)
	}
	return "", nil
}

// quoteValues quotes what iptables -S quotes: the cgroup path and the
// comment.
func quoteValues(rule string) string {
	f := strings.Fields(rule)
	for i := 1; i < len(f); i++ {
		if f[i-1] == "--path" || f[i-1] == "--comment" {
			f[i] = `"` + strings.ReplaceAll(f[i], `\`, `\\`) + `"`
		}
	}
	return strings.Join(f, " ")
}

const qemuUID = 64055

func TestTheRulesRefuseQEMUsNewLoopbackConnectionsButItsAnswersAndDNS(t *testing.T) {
	tables := newFakeTables()
	if err := New(qemuUID, tables.run).Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"-p tcp ! --syn -j RETURN",
		"-p udp --dport 53 -j RETURN",
		"-p tcp --dport 53 -j RETURN",
		"-p tcp -j REJECT --reject-with tcp-reset",
	}
	for _, f := range families {
		got := tables.chains[f.cmd][Chain]
		if !slices.Equal(got[:len(want)], want) || !strings.HasPrefix(got[len(want)], "-j REJECT") || len(got) != len(want)+1 {
			t.Fatalf("%s chain %q", f.cmd, got)
		}
		guests := []string{"-p tcp ! --syn -j RETURN", "-j " + AllowChain, "-j " + DenyChain, "-o lo -d " + f.loopback + " -j " + Chain}
		if got := tables.chains[f.cmd][GuestsChain]; !slices.Equal(got, guests) {
			t.Fatalf("%s guests' chain %q, want %q", f.cmd, got, guests)
		}
		jump := "-m owner --uid-owner 64055 -j " + GuestsChain
		if out := tables.chains[f.cmd]["OUTPUT"]; !slices.Equal(out, []string{jump}) {
			t.Fatalf("%s OUTPUT %q, want only the jump for QEMU's user", f.cmd, out)
		}
	}
}

func TestEnsuringAgainChangesNothing(t *testing.T) {
	tables := newFakeTables()
	g := New(qemuUID, tables.run)
	g.Ensure(context.Background())
	before := len(tables.changes)
	if err := g.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	if extra := tables.changes[before:]; len(extra) != 0 {
		t.Fatalf("a second Ensure changed the firewall: %q", extra)
	}
}

func TestARuleSomeoneDeletedIsPutBackInOrder(t *testing.T) {
	tables := newFakeTables()
	g := New(qemuUID, tables.run)
	g.Ensure(context.Background())
	want := slices.Clone(tables.chains["iptables"][Chain])
	tables.chains["iptables"][Chain] = slices.Delete(tables.chains["iptables"][Chain], 0, 1)
	tables.chains["ip6tables"]["OUTPUT"] = nil
	if err := g.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := tables.chains["iptables"][Chain]; !slices.Equal(got, want) {
		t.Fatalf("chain after repair %q, want %q", got, want)
	}
	if len(tables.chains["ip6tables"]["OUTPUT"]) != 1 {
		t.Fatalf("the ip6tables jump was not put back: %q", tables.chains["ip6tables"]["OUTPUT"])
	}
}

func TestWithoutIptablesOrWithQEMUAsRootNothingIsGuarded(t *testing.T) {
	tables := newFakeTables()
	tables.missing = true
	if err := New(qemuUID, tables.run).Ensure(context.Background()); err == nil || !strings.Contains(err.Error(), "iptables") {
		t.Fatalf("no iptables: %v, want an error naming it", err)
	}
	tables.missing = false
	if err := New(0, tables.run).Ensure(context.Background()); err == nil || !strings.Contains(err.Error(), "qemu.conf") {
		t.Fatalf("QEMU as root: %v, want a refusal that says how to fix it", err)
	}
	if len(tables.changes) != 0 {
		t.Fatalf("changed the firewall anyway: %q", tables.changes)
	}
}

func TestAHostWithoutIPv6GetsOnlyTheIPv4Rules(t *testing.T) {
	tables := newFakeTables()
	g := New(qemuUID, tables.run)
	g.families = families[:1] // as New finds it without /proc/net/if_inet6
	if err := g.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, c := range tables.changes {
		if strings.HasPrefix(c, "ip6tables") {
			t.Fatalf("ran %q on a host without IPv6", c)
		}
	}
	if len(tables.chains["iptables"]["OUTPUT"]) != 1 {
		t.Fatal("no IPv4 jump")
	}
}

func TestLiftTakesOutOnlyTheJumpAndEnsurePutsItBack(t *testing.T) {
	tables := newFakeTables()
	g := New(qemuUID, tables.run)
	g.Ensure(context.Background())
	if err := g.Lift(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, f := range g.families {
		if out := tables.chains[f.cmd]["OUTPUT"]; len(out) != 0 || len(tables.chains[f.cmd][Chain]) == 0 {
			t.Fatalf("%s after Lift: OUTPUT %q, chain %q; want no jump and the chain kept", f.cmd, out, tables.chains[f.cmd][Chain])
		}
	}
	g.Ensure(context.Background())
	for _, f := range g.families {
		if len(tables.chains[f.cmd]["OUTPUT"]) != 1 {
			t.Fatalf("%s: Ensure did not put the jump back", f.cmd)
		}
	}
}

func TestAChainAnotherDaemonMadeMeanwhileIsTakenAsMade(t *testing.T) {
	tables := newFakeTables()
	// Another home's daemon on this host makes each chain between this
	// one's look and its -N.
	tables.before = func(cmd string, args []string) {
		if args[1] == "-N" {
			tables.chains[cmd][args[2]] = nil
		}
	}
	if err := New(qemuUID, tables.run).Ensure(context.Background()); err != nil {
		t.Fatalf("a chain made meanwhile: %v", err)
	}
	if len(tables.chains["iptables"][GuestsChain]) != 4 {
		t.Fatalf("guests' chain %q", tables.chains["iptables"][GuestsChain])
	}
}
