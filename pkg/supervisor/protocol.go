// Package supervisor keeps a daemon's listening sockets alive across a
// crash of the process that serves them. A small parent process holds
// every listening socket (the API's and each balancer's) and runs the
// worker as its child; the worker asks the parent for listeners over a
// socketpair and gets duplicates of the parent's descriptors. When the
// worker dies the parent starts a new one, which asks for the same
// addresses and gets the same sockets: connections that arrived in between
// waited in the kernel's backlog, and none was refused. This is how
// systemd's socket activation and nginx's binary upgrade keep ports open.
package supervisor

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"syscall"
)

// The worker finds its end of the socketpair and the API listener at
// these descriptors when EnvSupervised is set.
const (
	EnvSupervised = "VMFLEET_SUPERVISED"
	apiFD         = 3
	controlFD     = 4
)

type request struct {
	Op   string `json:"op"` // listen or release
	Addr string `json:"addr"`
}

type reply struct {
	Addr  string `json:"addr,omitempty"` // the bound address
	Error string `json:"error,omitempty"`
}

// send writes one message, with a descriptor when fd >= 0.
func send(c *net.UnixConn, v any, fd int) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var oob []byte
	if fd >= 0 {
		oob = syscall.UnixRights(fd)
	}
	_, _, err = c.WriteMsgUnix(b, oob, nil)
	return err
}

// recv reads one message and the descriptor it carries, if any.
func recv(c *net.UnixConn, v any) (*os.File, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, syscall.CmsgSpace(4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("supervisor: connection closed")
	}
	var f *os.File
	if oobn > 0 {
		msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return nil, fmt.Errorf("supervisor: control message: %w", err)
		}
		for _, m := range msgs {
			fds, err := syscall.ParseUnixRights(&m)
			if err == nil && len(fds) > 0 {
				f = os.NewFile(uintptr(fds[0]), "listener")
			}
		}
	}
	return f, json.Unmarshal(buf[:n], v)
}

// socketpair returns two connected SOCK_SEQPACKET ends: message
// boundaries are kept, so one request is one read.
func socketpair() (parent *net.UnixConn, child *os.File, err error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("supervisor: socketpair: %w", err)
	}
	pf := os.NewFile(uintptr(fds[0]), "control")
	defer pf.Close()
	c, err := net.FileConn(pf)
	if err != nil {
		syscall.Close(fds[1])
		return nil, nil, fmt.Errorf("supervisor: socketpair: %w", err)
	}
	return c.(*net.UnixConn), os.NewFile(uintptr(fds[1]), "control-child"), nil
}
