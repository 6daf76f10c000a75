// Package home is the layout of a vmfleet home: where images, instances,
// the daemon's socket, lock, log and state live, and the modes that let
// QEMU (running as its own user under qemu:///system) reach what it must
// while the rest stays private. Every command prepares the home the same
// way, whichever runs first.
package home

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// Home is one vmfleet home directory.
type Home struct{ Dir string }

// Default follows docker for root and XDG for everyone else. QEMU under
// qemu:///system runs as its own user, which cannot enter /root.
func Default() string {
	if os.Geteuid() == 0 {
		return "/var/lib/vmfleet"
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "vmfleet")
	}
	h, _ := os.UserHomeDir()
	return filepath.Join(h, ".local", "share", "vmfleet")
}

func (h Home) path(p ...string) string { return filepath.Join(append([]string{h.Dir}, p...)...) }

// Instances holds one directory per instance (overlay, console, config).
func (h Home) Instances() string { return h.path("instances") }

// Snapshots holds the booted guests instances are restored from.
func (h Home) Snapshots() string { return h.path("snapshots") }

// Socket is the daemon's API socket.
func (h Home) Socket() string { return h.path(api.SocketName) }

// Lock is the file the daemon locks: one daemon per home.
func (h Home) Lock() string { return h.path("daemon.lock") }

// DaemonLog is where a daemon started by the CLI writes its log.
func (h Home) DaemonLog() string { return h.path("daemon.log") }

// State is the daemon's private state directory (desired state, token).
func (h Home) State() string { return h.path("state") }

// DB is the daemon's store of desired state.
func (h Home) DB() string { return h.path("state", "state.db") }

// AWSCredentials is the AWS endpoint's access key, an AWS shared
// credentials file readable by group vmfleet, as the socket is usable by it.
func (h Home) AWSCredentials() string { return h.path("aws-credentials") }

// Token is the bearer token for the optional TCP API listener.
func (h Home) Token() string { return h.path("state", "api-token") }

// Directory modes. QEMU, as user libvirt-qemu, must traverse the home to
// reach image disks, kernels and instance overlays, so those directories
// are searchable by others (not listable). The state directory holds
// secrets and is the owner's only.
const (
	traversable fs.FileMode = 0o711
	private     fs.FileMode = 0o700
)

// Prepare makes the home and its directories with the modes QEMU needs,
// mending modes a past version or a umask got wrong, and refuses a home
// QEMU cannot reach. It is idempotent and cheap.
func Prepare(dir string) (Home, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Home{}, fmt.Errorf("home %s: %w", dir, err)
	}
	h := Home{Dir: abs}
	if os.Geteuid() == 0 {
		if err := reachable(abs); err != nil {
			return Home{}, err
		}
	}
	for _, d := range []struct {
		path string
		mode fs.FileMode
	}{
		{h.Dir, traversable},
		{h.path("images"), traversable},
		{h.path("kernels"), traversable},
		{h.Instances(), traversable},
		{h.path("names"), traversable},
		{h.path("tmp"), traversable},
		{h.State(), private},
	} {
		if err := ensureDir(d.path, d.mode); err != nil {
			return Home{}, err
		}
	}
	return h, nil
}

// ensureDir makes dir with mode, or sets mode on one that exists (a bare
// MkdirAll would keep a wrong mode from an earlier run).
func ensureDir(dir string, mode fs.FileMode) error {
	if err := os.MkdirAll(dir, mode); err != nil {
		return fmt.Errorf("home: %w", err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("home: %w", err)
	}
	if st.Mode().Perm() != mode {
		if err := os.Chmod(dir, mode); err != nil {
			return fmt.Errorf("home: %w", err)
		}
	}
	return nil
}

// ErrUnreachable is a home QEMU's user cannot traverse to.
var ErrUnreachable = errors.New("QEMU cannot reach the home")

// reachable checks that every existing ancestor of dir lets others
// search it, as QEMU (user libvirt-qemu under qemu:///system) must. Run
// as root only: an unprivileged user's QEMU (qemu:///session) runs as
// that user.
func reachable(dir string) error {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err == nil && st.IsDir() && st.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("--home %s: %w: %s is mode %04o, which the libvirt-qemu user cannot enter; pick a home outside it (the default is /var/lib/vmfleet) or run chmod o+x %s",
				dir, ErrUnreachable, p, st.Mode().Perm(), p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// DashboardToken is the web page's access token, readable by group
// vmfleet as the socket is usable by it: vmfleet dashboard prints it in
// the page's URL.
func (h Home) DashboardToken() string { return h.path("dashboard-token") }
