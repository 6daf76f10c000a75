package hypervisor

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// libvirtdNames are the process names of the daemons that serve
// qemu:///system: the monolithic libvirtd, or the modular QEMU driver
// daemon and the proxy in front of it.
var libvirtdNames = []string{"libvirtd", "virtqemud", "virtproxyd"}

// libvirtdPidFiles are where those daemons, run as root, keep their pid.
var libvirtdPidFiles = []string{"/run/libvirtd.pid", "/run/virtqemud.pid", "/run/virtproxyd.pid"}

// LibvirtdPID is the pid of the libvirtd this connection talks to, so a
// fault can stop it (SIGSTOP): the peer of its unix socket, or, when that
// peer is not a libvirt daemon (systemd made the socket, and the peer
// credentials are systemd's), the pid file the daemon keeps. A session
// or remote libvirtd is not looked for: a session daemon is the user's
// own and comes and goes with its clients, and a remote one is no
// process of this host.
func (h *Libvirt) LibvirtdPID() (int, error) {
	if h.uri.Path == "/session" {
		return 0, fmt.Errorf("libvirtd at %s is a session daemon, not the host's; a libvirtd fault needs qemu:///system (vmfleet --connect qemu:///system)", h.uri)
	}
	if h.raw == nil {
		return 0, fmt.Errorf("libvirtd at %s is reached over the network, not a process of this host", h.uri)
	}
	h.raw.mu.Lock()
	conn := h.raw.conn
	h.raw.mu.Unlock()
	if pid := peerPID(conn); pid > 0 && IsLibvirtd(pid) {
		return pid, nil
	}
	for _, f := range libvirtdPidFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && IsLibvirtd(pid) {
			return pid, nil
		}
	}
	return 0, errors.New("cannot find the libvirtd process: its socket's peer is not a libvirt daemon and no pid file names a running one (" + strings.Join(libvirtdPidFiles, ", ") + ")")
}

// peerPID is the pid of the process at the other end of a unix socket
// (SO_PEERCRED), or 0.
func peerPID(conn net.Conn) int {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return 0
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		return 0
	}
	var cred *syscall.Ucred
	if err := rc.Control(func(fd uintptr) {
		cred, err = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil || cred == nil {
		return 0
	}
	return int(cred.Pid)
}

// IsLibvirtd says whether pid is a running libvirt daemon: a pid read
// from a file may be stale, and reused by anything.
func IsLibvirtd(pid int) bool {
	if pid <= 1 {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return false
	}
	return slices.Contains(libvirtdNames, strings.TrimSpace(string(b)))
}
