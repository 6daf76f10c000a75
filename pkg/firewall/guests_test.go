package firewall

import (
	"context"
	"slices"
	"strings"
	"testing"
)

const (
	webCgroup = "/machine/qemu-3-vmfleet-web.libvirt-qemu"
	// systemd's escape of '-' in a unit name, which iptables -S escapes again
	dbCgroup = `/machine.slice/machine-qemu\x2d4\x2dvmfleet\x2ddb.scope/libvirt`
)

func admitted(t *testing.T) (*fakeTables, *Guard) {
	t.Helper()
	tables := newFakeTables()
	g := New(qemuUID, tables.run)
	if err := g.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	return tables, g
}

func TestAGuestWithoutInternetMayOpenItsHostPortsAndNothingElse(t *testing.T) {
	tables, g := admitted(t)
	if err := g.Admit(context.Background(), "vmfleet-web", qemuUID, webCgroup, Reach{HostPorts: []int{40001, 5432}}); err != nil {
		t.Fatal(err)
	}
	allow := tables.chains["iptables"][AllowChain]
	want := []string{
		"-d 127.0.0.1/32 -p tcp -m cgroup --path " + webCgroup + " -m tcp --dport 40001 -m comment --comment vmfleet:vmfleet-web -j ACCEPT",
		"-d 127.0.0.1/32 -p tcp -m cgroup --path " + webCgroup + " -m tcp --dport 5432 -m comment --comment vmfleet:vmfleet-web -j ACCEPT",
	}
	if !slices.Equal(allow, want) {
		t.Fatalf("allowed %q\nwant %q", allow, want)
	}
	deny := tables.chains["iptables"][DenyChain]
	if len(deny) != 2 || !strings.Contains(deny[0], "-p tcp -m cgroup --path "+webCgroup) || !strings.HasSuffix(deny[1], "-j REJECT --reject-with icmp-port-unreachable") {
		t.Fatalf("denied %q: want all else of its cgroup refused", deny)
	}
}

func TestAGuestWithInternetIsRefusedOnlyTheLoopbackItWasNotGiven(t *testing.T) {
	tables, g := admitted(t)
	if err := g.Admit(context.Background(), "vmfleet-open", qemuUID, webCgroup, Reach{Internet: true}); err != nil {
		t.Fatal(err)
	}
	if n := len(tables.chains["iptables"][AllowChain]) + len(tables.chains["iptables"][DenyChain]); n != 0 {
		t.Fatalf("%d rules of its own; the loopback guard that follows is all it needs", n)
	}
}

func TestAdmittingAgainReplacesTheRulesAddingTheNewBeforeRemovingTheOld(t *testing.T) {
	tables, g := admitted(t)
	ctx := context.Background()
	g.Admit(ctx, "vmfleet-web", qemuUID, webCgroup, Reach{}) // a spare: nothing yet
	before := len(tables.changes)
	if err := g.Admit(ctx, "vmfleet-web", qemuUID, webCgroup, Reach{HostPorts: []int{40001}}); err != nil {
		t.Fatal(err)
	}
	if got := len(tables.chains["iptables"][AllowChain]); got != 1 {
		t.Fatalf("%d allowed, want 1", got)
	}
	if got := len(tables.chains["iptables"][DenyChain]); got != 2 {
		t.Fatalf("%d denied, want the 2 of the new set only: %q", got, tables.chains["iptables"][DenyChain])
	}
	changes := tables.changes[before:]
	firstDelete := slices.IndexFunc(changes, func(c string) bool { return strings.Contains(c, " -D ") })
	lastAdd := -1
	for i, c := range changes {
		if strings.Contains(c, " -A ") {
			lastAdd = i
		}
	}
	if firstDelete < 0 || firstDelete < lastAdd {
		t.Fatalf("an old rule went before the new were in: %q", changes)
	}
}

func TestForgetRemovesOnlyThatGuestsRules(t *testing.T) {
	tables, g := admitted(t)
	ctx := context.Background()
	g.Admit(ctx, "vmfleet-web", qemuUID, webCgroup, Reach{HostPorts: []int{40001}})
	g.Admit(ctx, "vmfleet-db", qemuUID, dbCgroup, Reach{})
	if err := g.Forget(ctx, "vmfleet-db"); err != nil {
		t.Fatal(err)
	}
	if err := g.Forget(ctx, "vmfleet-gone"); err != nil {
		t.Fatalf("a domain without rules: %v", err)
	}
	for _, chain := range []string{AllowChain, DenyChain} {
		for _, r := range tables.chains["iptables"][chain] {
			if !strings.Contains(r, "vmfleet:vmfleet-web") {
				t.Errorf("%s kept %q", chain, r)
			}
		}
	}
	if len(tables.chains["iptables"][DenyChain]) != 2 {
		t.Errorf("web's rules went too: %q", tables.chains["iptables"][DenyChain])
	}
}

func TestPruneRemovesTheRulesOfDomainsThatAreGone(t *testing.T) {
	tables, g := admitted(t)
	ctx := context.Background()
	g.Admit(ctx, "vmfleet-web", qemuUID, webCgroup, Reach{HostPorts: []int{40001}})
	g.Admit(ctx, "vmfleet-db", qemuUID, dbCgroup, Reach{HostPorts: []int{40002}})
	if err := g.Prune(ctx, func(d string) bool { return d == "vmfleet-web" }); err != nil {
		t.Fatal(err)
	}
	for _, chain := range []string{AllowChain, DenyChain} {
		for _, r := range tables.chains["iptables"][chain] {
			if strings.Contains(r, "vmfleet-db") {
				t.Errorf("%s kept the gone domain's %q", chain, r)
			}
		}
	}
	if len(tables.chains["iptables"][AllowChain]) != 1 {
		t.Errorf("the running domain lost its rules: %q", tables.chains["iptables"][AllowChain])
	}
}

func TestAdmitMendsAFlushedFirewallFirst(t *testing.T) {
	tables, g := admitted(t)
	tables.chains["iptables"]["OUTPUT"] = nil
	tables.chains["iptables"][GuestsChain] = nil
	if err := g.Admit(context.Background(), "vmfleet-web", qemuUID, webCgroup, Reach{}); err != nil {
		t.Fatal(err)
	}
	if len(tables.chains["iptables"]["OUTPUT"]) != 1 || len(tables.chains["iptables"][GuestsChain]) != 4 {
		t.Fatalf("OUTPUT %q, guests %q: want the jump and the chain back", tables.chains["iptables"]["OUTPUT"], tables.chains["iptables"][GuestsChain])
	}
}

func TestTheCgroupToMatchIsTheDomainsOnTheUnifiedHierarchy(t *testing.T) {
	for _, c := range []struct{ proc, want string }{
		{"4:memory:/machine/qemu-2-a.libvirt-qemu\n0::/machine/qemu-2-a.libvirt-qemu/emulator\n", "/machine/qemu-2-a.libvirt-qemu"},
		{"0::/machine.slice/machine-qemu\\x2d2\\x2da.scope/libvirt/emulator\n", `/machine.slice/machine-qemu\x2d2\x2da.scope/libvirt`},
		{"0::/machine.slice/machine-qemu\\x2d2\\x2da.scope\n", `/machine.slice/machine-qemu\x2d2\x2da.scope`},
	} {
		if got, err := Cgroup(c.proc); err != nil || got != c.want {
			t.Errorf("Cgroup(%q) = %q, %v; want %q", c.proc, got, err, c.want)
		}
	}
	for _, proc := range []string{"1:cpu:/machine/qemu-2-a\n0::/\n", "1:cpu:/machine/qemu-2-a\n"} {
		if _, err := Cgroup(proc); err == nil || !strings.Contains(err.Error(), "cgroup2") {
			t.Errorf("Cgroup(%q): %v; want an error that says to mount cgroup2", proc, err)
		}
	}
}

func TestAGuestWhoseQEMUIsNotQEMUsUserIsNotAdmitted(t *testing.T) {
	tables, g := admitted(t)
	before := len(tables.changes)
	err := g.Admit(context.Background(), "vmfleet-web", 0, webCgroup, Reach{HostPorts: []int{40001}})
	if err == nil || !strings.Contains(err.Error(), "uid 0") {
		t.Fatalf("a QEMU running as root: %v, want refused (the jump to its rules is for QEMU's user only)", err)
	}
	if extra := tables.changes[before:]; len(extra) != 0 {
		t.Fatalf("changed the firewall anyway: %q", extra)
	}
}

func TestRulesCountsWhatEachGuestStillHasAndIntactSeesAFlush(t *testing.T) {
	tables, g := admitted(t)
	ctx := context.Background()
	web, db := Reach{HostPorts: []int{40001, 40002}}, Reach{Internet: true, HostPorts: []int{40003}}
	g.Admit(ctx, "vmfleet-web", qemuUID, webCgroup, web)
	g.Admit(ctx, "vmfleet-db", qemuUID, dbCgroup, db)
	counts, err := g.Rules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts["vmfleet-web"] != RuleCount(web) || counts["vmfleet-db"] != RuleCount(db) || RuleCount(web) != 4 || RuleCount(db) != 1 {
		t.Fatalf("counts %v, want web %d and db %d", counts, RuleCount(web), RuleCount(db))
	}
	if !g.Intact(ctx) {
		t.Fatal("Ensure's firewall is not intact")
	}
	tables.chains["iptables"][DenyChain] = nil
	if counts, _ := g.Rules(ctx); counts["vmfleet-web"] != 2 {
		t.Fatalf("after a flush of the deny chain web has %d rules, want its 2 allows", counts["vmfleet-web"])
	}
	tables.chains["iptables"][GuestsChain] = tables.chains["iptables"][GuestsChain][1:]
	if g.Intact(ctx) {
		t.Fatal("a chain missing its first rule looks intact")
	}
}

func TestAFreshHostWithoutTheChainsHasNoRulesToListPruneOrForget(t *testing.T) {
	// No Ensure yet: the first check of a daemon on a fresh machine.
	tables := newFakeTables()
	g := New(qemuUID, tables.run)
	ctx := context.Background()
	if err := g.Prune(ctx, func(string) bool { return false }); err != nil {
		t.Fatalf("prune before any chain exists: %v", err)
	}
	if err := g.Forget(ctx, "vmfleet-web"); err != nil {
		t.Fatalf("forget before any chain exists: %v", err)
	}
	if counts, err := g.Rules(ctx); err != nil || len(counts) != 0 {
		t.Fatalf("rules before any chain exists: %v, %v; want none", counts, err)
	}
	if len(tables.changes) != 0 {
		t.Fatalf("changed the firewall: %q", tables.changes)
	}
}
