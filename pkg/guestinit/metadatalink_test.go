package guestinit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vmfleet/vmfleet/pkg/imds"
)

// inFreshNetns runs f on a thread in a network namespace of its own, a
// stand-in for the guest's: nothing it makes touches the host's network.
// The thread is never unlocked, so it ends with f and takes the namespace
// with it.
func inFreshNetns(t *testing.T, f func() error) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: makes network namespaces and a veth pair")
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		lo, err := netlink.LinkByName("lo")
		if err == nil {
			err = netlink.LinkSetUp(lo)
		}
		if err != nil {
			errc <- fmt.Errorf("lo up: %w", err)
			return
		}
		errc <- f()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// The finding: with the metadata server on 169.254.169.254:80 in
// the guest's own namespace, nginx's bind of 0.0.0.0:80 failed with
// EADDRINUSE. Behind its own link, every port of the guest's namespace
// is the service's, and the guest still reads its metadata (IMDSv1 and
// v2) at 169.254.169.254.
func TestTheMetadataServerLeavesEveryPortToTheService(t *testing.T) {
	inFreshNetns(t, func() error {
		ln, err := metadataLink{}.listen()
		if err != nil {
			if errors.Is(err, unix.EOPNOTSUPP) || strings.Contains(err.Error(), "not supported") {
				return fmt.Errorf("this host's kernel has no veth: %w", err)
			}
			return err
		}
		h, err := imds.NewHandler(imds.Metadata{InstanceID: "i-0123456789ab", UserData: []byte("#!/bin/sh\n")}, imds.Options{})
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: h}
		go srv.Serve(ln)
		defer srv.Close()

		// The guest's own address, as configureNetwork gives it to eth0.
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		own, _ := netlink.ParseAddr("10.0.2.15/32")
		if err := netlink.AddrAdd(lo, own); err != nil {
			return err
		}
		// Listeners are made on this thread, so in the guest's namespace.
		for _, addr := range []string{"0.0.0.0:80", "127.0.0.1:80", "10.0.2.15:80"} {
			svc, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("the service's listen on %s beside the metadata server: %w", addr, err)
			}
			svc.Close()
		}
		svc, err := net.Listen("tcp", "0.0.0.0:80")
		if err != nil {
			return err
		}
		defer svc.Close()

		if got, err := ask("GET", "/latest/meta-data/instance-id", nil); err != nil || got != "i-0123456789ab" {
			return fmt.Errorf("IMDSv1 instance-id with the service on 0.0.0.0:80: %q, %v", got, err)
		}
		token, err := ask("PUT", "/latest/api/token", http.Header{"X-Aws-Ec2-Metadata-Token-Ttl-Seconds": {"60"}})
		if err != nil || token == "" {
			return fmt.Errorf("IMDSv2 token: %q, %v", token, err)
		}
		if got, err := ask("GET", "/latest/user-data", http.Header{"X-Aws-Ec2-Metadata-Token": {token}}); err != nil || got != "#!/bin/sh\n" {
			return fmt.Errorf("IMDSv2 user-data: %q, %v", got, err)
		}
		// The service's own socket never saw the metadata requests.
		svc.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Millisecond))
		if c, err := svc.Accept(); err == nil {
			c.Close()
			return fmt.Errorf("the service's listener on 0.0.0.0:80 accepted a connection meant for the metadata server")
		}
		// And the guest's namespace holds no socket on port 80 but the
		// service's: a bind of 169.254.169.254 there is refused as on EC2.
		if l, err := net.Listen("tcp", MetadataAddr+":8080"); err == nil {
			l.Close()
			return fmt.Errorf("%s is an address of the guest's own namespace", MetadataAddr)
		}
		return nil
	})
}

// ask makes one request to the metadata server over a connection dialled
// on this thread (http.Client dials from other threads, other namespaces).
func ask(method, path string, header http.Header) (string, error) {
	c, err := net.DialTimeout("tcp", MetadataAddr+":80", 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	req, err := http.NewRequest(method, "http://"+MetadataAddr+path, nil)
	if err != nil {
		return "", err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if err := req.Write(c); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s %s: %s %s", method, path, resp.Status, b)
	}
	return string(b), err
}
