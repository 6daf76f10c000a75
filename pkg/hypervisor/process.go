package hypervisor

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// libvirt's QEMU driver writes each running domain's QEMU pid here
// (qemu:///system; a session daemon keeps its own under the user's
// runtime directory).
const qemuPidDir = "/run/libvirt/qemu"

// PSS is the proportional set size of the domain's QEMU process, in KiB:
// its resident memory with every page it shares (with other clones of one
// snapshot, once KSM merged them) divided among the sharers. Reading it
// walks the process's page tables, so it is asked for, not sampled.
func (h *Libvirt) PSS(ctx context.Context, name string) (uint64, error) {
	pid, err := h.qemuPID(name)
	if err != nil {
		return 0, fmt.Errorf("pss of %s: %w", name, err)
	}
	return rollupPSS(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
}

// QEMUProcess describes the running domain's QEMU process.
func (h *Libvirt) QEMUProcess(ctx context.Context, name string) (Process, error) {
	pid, err := h.qemuPID(name)
	if err != nil {
		return Process{}, fmt.Errorf("qemu process of %s: %w", name, err)
	}
	return readProcess(fmt.Sprintf("/proc/%d", pid))
}

// readProcess reads a process's uid and cgroups from its /proc directory.
func readProcess(dir string) (Process, error) {
	cg, err := os.ReadFile(filepath.Join(dir, "cgroup"))
	if err != nil {
		return Process{}, err
	}
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return Process{}, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		// Uid: real, effective, saved, filesystem; the firewall's owner
		// match reads a socket's opener's filesystem uid.
		if f := strings.Fields(line); len(f) == 5 && f[0] == "Uid:" {
			uid, err := strconv.Atoi(f[4])
			if err != nil {
				return Process{}, fmt.Errorf("%s/status: %q", dir, line)
			}
			return Process{UID: uid, Cgroups: string(cg)}, nil
		}
	}
	return Process{}, fmt.Errorf("%s/status: no Uid line", dir)
}

// KillQEMU sends SIGKILL to the running domain's QEMU.
func (h *Libvirt) KillQEMU(ctx context.Context, name string) error {
	pid, err := h.qemuPID(name)
	if err != nil {
		return fmt.Errorf("kill the QEMU of %s: %w", name, err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill the QEMU of %s (pid %d): %w", name, pid, err)
	}
	return nil
}

// qemuPID is the running domain's QEMU's pid, from the file libvirt keeps.
func (h *Libvirt) qemuPID(name string) (int, error) {
	dir := qemuPidDir
	if h.uri != nil && h.uri.Path == "/session" {
		dir = filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "libvirt", "qemu", "run")
	}
	b, err := os.ReadFile(filepath.Join(dir, name+".pid"))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("pid file: %w", err)
	}
	return pid, nil
}

func rollupPSS(p string) (uint64, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
			return strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no Pss in %s", p)
}
