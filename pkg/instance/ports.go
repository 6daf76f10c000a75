package instance

import (
	"fmt"
	"net"
)

// portFree checks that a user-chosen host port can be listened on.
func portFree(port int) error {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return fmt.Errorf("host port %d is in use; pick another with --host-port, or 0 for a free one", port)
	}
	return l.Close()
}

// freePort asks the kernel for a free loopback port. QEMU binds it moments
// later; a port taken in between fails the forward, and the launch with it.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
