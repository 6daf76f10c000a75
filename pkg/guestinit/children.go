package guestinit

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// children are the processes init started and waits for itself (the
// commands of vmfleet exec); the reaper, which collects every other child
// of PID 1 (orphans land there), leaves them to their own Wait.
type children struct {
	mu   sync.Mutex // held by the reaper while it reaps, and around a start
	pids map[int]bool
}

func newChildren() *children { return &children{pids: map[int]bool{}} }

// Start implements guestexec.Children.
func (c *children) Start(start func() error, pid func() int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := start(); err != nil {
		return err
	}
	c.pids[pid()] = true
	return nil
}

// Done implements guestexec.Children.
func (c *children) Done(pid int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pids, pid)
}

// reap collects every exited child that is not init's own to wait for and
// reports the service's status once the service itself has exited.
func (c *children) reap(service int) (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		// Look before collecting: an exec'd command's status is its Wait's.
		var info unix.Siginfo
		if err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil); err != nil {
			break
		}
		pid := int(siginfoPid(&info))
		if pid == 0 || c.pids[pid] {
			break // nothing exited, or the next is an exec'd command (its Wait is about to collect it)
		}
		var ws unix.WaitStatus
		if got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil); err != nil || got != pid {
			break
		}
		if pid == service {
			return serviceStatus(ws)
		}
	}
	// The service may be behind an exec'd command in the queue.
	var ws unix.WaitStatus
	if got, err := unix.Wait4(service, &ws, unix.WNOHANG, nil); err == nil && got == service {
		return serviceStatus(ws)
	}
	return 0, false
}

func serviceStatus(ws unix.WaitStatus) (int, bool) {
	switch {
	case ws.Exited():
		return ws.ExitStatus(), true
	case ws.Signaled():
		return 128 + int(ws.Signal()), true
	}
	return 0, false
}

// siginfoPid is si_pid of a child's siginfo: the first field of the
// union after signo, errno and code (and padding) on 64-bit Linux, which
// x/sys leaves unnamed.
func siginfoPid(info *unix.Siginfo) int32 {
	return *(*int32)(unsafe.Add(unsafe.Pointer(info), 16))
}
