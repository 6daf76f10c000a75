package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

// stoppedLibvirtdFile names, in the home, the libvirtd a fault stopped,
// until the fault continues it: a daemon that died meanwhile (killed,
// crashed) leaves it for the next one to continue, or libvirtd would
// stay stopped, and every libvirt client on the host with it.
const stoppedLibvirtdFile = "libvirtd-stopped.pid"

// stopLibvirtd stops (SIGSTOP) the libvirtd the daemon talks to. The
// daemon answers on meanwhile: each of its libvirt calls has a deadline,
// and its listings are kept in memory (hypervisor.Inventory).
func (d *Daemon) stopLibvirtd(span time.Duration) (injection, error) {
	pid, err := d.hv.LibvirtdPID()
	if err != nil {
		return injection{}, api.Conflict(fmt.Errorf("fault libvirtd: %w", err))
	}
	marker := filepath.Join(d.cfg.Home.Dir, stoppedLibvirtdFile)
	if err := os.WriteFile(marker, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return injection{}, api.Failed(fmt.Errorf("fault libvirtd: note the libvirtd to continue: %w", err))
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		os.Remove(marker)
		return injection{}, api.Failed(fmt.Errorf("fault libvirtd: stop libvirtd (pid %d): %w (the daemon runs as uid %d)", pid, err, os.Getuid()))
	}
	return injection{
		what: fmt.Sprintf("libvirtd (pid %d) stopped for %s (SIGSTOP)", pid, span),
		end: func(context.Context) (string, error) {
			if err := syscall.Kill(pid, syscall.SIGCONT); err != nil && !errors.Is(err, syscall.ESRCH) {
				return "", fmt.Errorf("continue libvirtd (pid %d): %w", pid, err)
			}
			os.Remove(marker)
			return fmt.Sprintf("libvirtd (pid %d) continued (SIGCONT)", pid), nil
		},
	}, nil
}

// continueStoppedLibvirtd continues the libvirtd that a libvirtd fault of
// an earlier daemon of this home stopped and never continued. It runs
// before the daemon dials libvirtd, which would wait on it.
func continueStoppedLibvirtd(home string, log *slog.Logger) {
	marker := filepath.Join(home, stoppedLibvirtdFile)
	b, err := os.ReadFile(marker)
	if err != nil {
		return
	}
	// The pid is checked: the file may be older than a reboot.
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && hypervisor.IsLibvirtd(pid) {
		if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
			log.Error("continue the libvirtd an earlier daemon stopped for a fault", "pid", pid, "err", err)
			return
		}
		log.Warn("continued the libvirtd an earlier daemon stopped for a fault and did not live to continue", "pid", pid)
	}
	os.Remove(marker)
}
