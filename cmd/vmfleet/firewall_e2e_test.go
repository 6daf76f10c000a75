package main

import (
	"os/exec"
	"os/user"
	"strings"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/firewall"
)

// removeGuestFirewall takes every vmfleet chain and jump out of iptables
// and ip6tables, as on a machine no daemon has run on yet.
func removeGuestFirewall(t *testing.T) {
	t.Helper()
	chains := []string{firewall.GuestsChain, firewall.AllowChain, firewall.DenyChain, firewall.Chain}
	for _, cmd := range []string{"iptables", "ip6tables"} {
		for exec.Command(cmd, "-w", "-D", "OUTPUT", "-m", "owner", "--uid-owner", qemuUID(t), "-j", firewall.GuestsChain).Run() == nil {
		}
		for _, op := range []string{"-F", "-X"} {
			for _, c := range chains {
				exec.Command(cmd, "-w", op, c).Run() // absent already: fine
			}
		}
		if out, _ := exec.Command(cmd, "-w", "-S").Output(); strings.Contains(string(out), "VMFLEET") {
			t.Fatalf("%s still holds vmfleet's rules:\n%s", cmd, out)
		}
	}
}

// qemuUID is libvirt's QEMU user, whose connections the firewall holds.
func qemuUID(t *testing.T) string {
	t.Helper()
	u, err := user.Lookup("libvirt-qemu")
	if err != nil {
		t.Skipf("no libvirt-qemu user: %v", err)
	}
	return u.Uid
}
