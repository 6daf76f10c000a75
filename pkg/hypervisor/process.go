package hypervisor

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	dir := qemuPidDir
	if h.uri != nil && h.uri.Path == "/session" {
		dir = filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "libvirt", "qemu", "run")
	}
	b, err := os.ReadFile(filepath.Join(dir, name+".pid"))
	if err != nil {
		return 0, fmt.Errorf("pss of %s: %w", name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("pss of %s: pid file: %w", name, err)
	}
	return rollupPSS(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
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
