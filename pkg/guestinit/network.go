package guestinit

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vmfleet/vmfleet/pkg/guestlayout"
)

// configureNetwork brings up lo and the user-mode network's fixed address.
// QEMU's user network has a known layout, so no DHCP client is needed. A
// guest without internet access has no default route; the host's
// loopback, where its dependencies are, is on its own network (Gateway).
func configureNetwork(_ context.Context, in *Init) error {
	n := in.Config.Network
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("lo up: %w", err)
	}
	if n.Interface == "" {
		return nil
	}
	link, err := netlink.LinkByName(n.Interface)
	if err != nil {
		return fmt.Errorf("find %s: %w", n.Interface, err)
	}
	addr, err := netlink.ParseAddr(n.Address)
	if err != nil {
		return fmt.Errorf("address %q: %w", n.Address, err)
	}
	if err := netlink.AddrAdd(link, addr); err != nil {
		return fmt.Errorf("add %s to %s: %w", n.Address, n.Interface, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("%s up: %w", n.Interface, err)
	}
	if in.Config.Internet {
		if err := netlink.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: net.ParseIP(n.Gateway)}); err != nil {
			return fmt.Errorf("default route via %s: %w", n.Gateway, err)
		}
	}
	return nil
}

// setIdentity names the guest after its instance: its hostname, and the
// resolver and hosts files of its service's root.
func setIdentity(_ context.Context, in *Init) error {
	if in.Config.Hostname != "" {
		if err := unix.Sethostname([]byte(in.Config.Hostname)); err != nil {
			return fmt.Errorf("set hostname: %w", err)
		}
	}
	return writeResolver(in)
}

// writeResolver gives the service's root a resolver and hosts file, as a
// container runtime would. A root without /etc gets one.
func writeResolver(in *Init) error {
	etc := filepath.Join(guestlayout.NewRoot, "etc")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		return err
	}
	files := map[string]string{
		"resolv.conf": "nameserver " + in.Config.Network.DNS + "\n",
		"hosts":       "127.0.0.1\tlocalhost\n" + ipOnly(in.Config.Network.Address) + "\t" + in.Config.Hostname + "\n",
		"hostname":    in.Config.Hostname + "\n",
	}
	for name, content := range files {
		p := filepath.Join(etc, name)
		os.Remove(p) // may be a dangling symlink in a rootfs tarball
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func ipOnly(cidr string) string {
	ip, _, err := net.ParseCIDR(cidr)
	if err != nil {
		return cidr
	}
	return ip.String()
}
