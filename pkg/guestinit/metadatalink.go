package guestinit

import (
	"fmt"
	"net"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Why a namespace inside the guest and not a forward to the host: QEMU's
// user network (libslirp 4.7) refuses a guestfwd to an address outside
// its own 10.0.2.0/24, so 169.254.169.254 cannot be forwarded at all, and
// a guestfwd to a chardev is one byte stream that all the guest's
// connections share: measured on QEMU 7.2, 10 concurrent requests got 0
// right answers, 8 timeouts and 2 answers meant for another request.

// metadataLink is the veth pair between the guest's own network
// namespace (where the service runs) and the metadata server's: a /30 of
// link-local addresses, the server's end 169.254.169.254.
type metadataLink struct{}

const (
	metadataNear     = "imds0" // the service's end
	metadataFar      = "imds1" // the server's end
	metadataNearAddr = "169.254.169.253/30"
	metadataFarAddr  = MetadataAddr + "/30"
	metadataNearIP   = "169.254.169.253"
)

// listen makes the server's namespace and the link to it from the calling
// thread's namespace (the guest's; a test's own), and returns a socket
// listening on 169.254.169.254:80 inside it. The socket holds the
// namespace: nothing else needs to.
func (l metadataLink) listen() (net.Listener, error) {
	outer, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("open the guest's network namespace: %w", err)
	}
	defer outer.Close()
	type result struct {
		ln  net.Listener
		err error
	}
	done := make(chan result, 1)
	go func() {
		// This thread enters the new namespace and is never unlocked, so
		// Go ends it with this goroutine: no other goroutine ever runs in
		// the server's namespace by accident.
		runtime.LockOSThread()
		ln, err := l.listenLocked(outer)
		done <- result{ln, err}
	}()
	r := <-done
	return r.ln, r.err
}

func (l metadataLink) listenLocked(outer netns.NsHandle) (net.Listener, error) {
	near, far := metadataNear, metadataFar
	inner, err := netns.New() // this thread is in it from here on
	if err != nil {
		return nil, fmt.Errorf("make the metadata server's network namespace: %w", err)
	}
	defer inner.Close()
	// Route sockets only: the guest kernel has no xfrm or netfilter
	// netlink built in, and NewHandleAt opens those too unless told.
	outerH, err := netlink.NewHandleAt(outer, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink in the guest's namespace: %w", err)
	}
	defer outerH.Close()
	innerH, err := netlink.NewHandleAt(inner, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink in the metadata server's namespace: %w", err)
	}
	defer innerH.Close()

	veth := netlink.NewVeth(netlink.LinkAttrs{Name: near})
	veth.PeerName = far
	veth.PeerNamespace = netlink.NsFd(inner)
	if err := outerH.LinkAdd(veth); err != nil {
		return nil, fmt.Errorf("add veth %s-%s (is the veth module loaded?): %w", near, far, err)
	}
	if err := linkUp(outerH, near, metadataNearAddr); err != nil {
		return nil, err
	}
	if err := linkUp(innerH, far, metadataFarAddr); err != nil {
		return nil, err
	}
	lo, err := innerH.LinkByName("lo")
	if err != nil {
		return nil, fmt.Errorf("find lo in the metadata server's namespace: %w", err)
	}
	if err := innerH.LinkSetUp(lo); err != nil {
		return nil, fmt.Errorf("lo up in the metadata server's namespace: %w", err)
	}
	// Back to wherever a request came from: a client may have bound its
	// socket to the guest's own address (10.0.2.15) rather than the link's.
	farLink, err := innerH.LinkByName(far)
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", far, err)
	}
	if err := innerH.RouteAdd(&netlink.Route{LinkIndex: farLink.Attrs().Index, Gw: net.ParseIP(metadataNearIP)}); err != nil {
		return nil, fmt.Errorf("default route of the metadata server's namespace: %w", err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(MetadataAddr, "80"))
	if err != nil {
		return nil, fmt.Errorf("listen in the metadata server's namespace: %w", err)
	}
	return ln, nil
}

// linkUp gives the named link addr and brings it up.
func linkUp(h *netlink.Handle, name, addr string) error {
	link, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find %s: %w", name, err)
	}
	a, err := netlink.ParseAddr(addr)
	if err != nil {
		return err
	}
	if err := h.AddrAdd(link, a); err != nil {
		return fmt.Errorf("add %s to %s: %w", addr, name, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("%s up: %w", name, err)
	}
	return nil
}
