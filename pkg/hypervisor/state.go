package hypervisor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-qemu/qmp"
	"github.com/digitalocean/go-qemu/qmp/raw"
)

// A domain's state travels as a QEMU migration stream over a unix socket,
// through libvirt's monitor: libvirt's own save and restore keep the
// domain's name and UUID in the image and refuse to restore it under any
// other, so they cannot make clones.

// statePoll is how often a transfer's progress is asked for.
const statePoll = 5 * time.Millisecond

// Version is the QEMU version libvirt drives ("7.2.22"): a saved state
// loads only into the same QEMU.
func (h *Libvirt) Version(ctx context.Context) (string, error) {
	v, err := h.l.ConnectGetVersion()
	if err != nil {
		return "", fmt.Errorf("ask libvirt for the QEMU version: %w", err)
	}
	return fmt.Sprintf("%d.%d.%d", v/1000000, v/1000%1000, v%1000), nil
}

// Create starts a transient domain: libvirt forgets it when it stops, so
// a helper machine leaves no definition behind.
func (h *Libvirt) Create(ctx context.Context, spec *DomainSpec, paused bool) error {
	x, err := spec.XML()
	if err != nil {
		return err
	}
	var flags libvirt.DomainCreateFlags
	if paused {
		flags = libvirt.DomainStartPaused
	}
	if _, err := h.l.DomainCreateXML(x, flags); err != nil {
		return fmt.Errorf("create domain %s: %w", spec.Name, err)
	}
	return nil
}

// SaveState stops the running domain's vCPUs and writes its whole state
// to w. QEMU connects to a socket made in dir, which its user must be
// able to enter. The domain is left paused.
func (h *Libvirt) SaveState(ctx context.Context, name, dir string, w io.Writer) error {
	d, err := h.lookup(name)
	if err != nil {
		return err
	}
	sock := filepath.Join(dir, ".save-"+randomHex()+".sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return fmt.Errorf("save %s: listen for its state: %w", name, err)
	}
	defer os.Remove(sock)
	defer ln.Close()
	if err := giveToQEMU(sock); err != nil {
		return fmt.Errorf("save %s: %w", name, err)
	}
	mon := &monitor{l: h.l, d: d}
	if err := startSave(mon, sock); err != nil {
		return fmt.Errorf("save %s: %w", name, err)
	}
	conn, err := accept(ctx, ln)
	if err != nil {
		return fmt.Errorf("save %s: QEMU did not connect: %w", name, err)
	}
	_, err = io.Copy(w, conn)
	conn.Close()
	if err != nil {
		return fmt.Errorf("save %s: copy its state: %w", name, err)
	}
	return waitMigration(ctx, mon, "save "+name)
}

// LoadState feeds a state SaveState wrote into a domain that was started
// paused with DomainSpec.Incoming. It stays paused: resume it once its
// limits and forwards are in place.
func (h *Libvirt) LoadState(ctx context.Context, name string, r io.Reader) error {
	d, err := h.lookup(name)
	if err != nil {
		return err
	}
	dir, err := h.channelDir(d)
	if err != nil {
		return fmt.Errorf("load the state of %s: %w", name, err)
	}
	sock := filepath.Join(dir, "incoming.sock")
	mon := &monitor{l: h.l, d: d}
	if err := raw.NewMonitor(mon).MigrateIncoming("unix:" + sock); err != nil {
		return fmt.Errorf("load the state of %s: %w", name, err)
	}
	defer os.Remove(sock)
	var dl net.Dialer
	conn, err := dl.DialContext(ctx, "unix", sock)
	if err != nil {
		return fmt.Errorf("load the state of %s: %w", name, err)
	}
	_, err = io.Copy(conn, r)
	conn.Close()
	if err != nil {
		return fmt.Errorf("load the state of %s: %w", name, err)
	}
	return waitMigration(ctx, mon, "load the state of "+name)
}

// channelDir is the directory libvirt made for the domain's channel
// sockets: QEMU's user owns it, so QEMU can listen there.
func (h *Libvirt) channelDir(d libvirt.Domain) (string, error) {
	socks, err := h.channelSockets(d)
	if err != nil {
		return "", err
	}
	for _, p := range socks {
		return filepath.Dir(p), nil // libvirt keeps them all in one directory
	}
	return "", errors.New("the domain has no channel socket (it needs DomainSpec.Agent)")
}

// startSave stops the vCPUs and has QEMU send its state to sock.
func startSave(mon qmp.Monitor, sock string) error {
	m := raw.NewMonitor(mon)
	if err := m.Stop(); err != nil {
		return err
	}
	// QEMU's default cap is 128 MiB/s, a local file wants none.
	unlimited := int64(16 << 30)
	if err := m.MigrateSetParameters(&raw.MigrateSetParameters{MaxBandwidth: &unlimited}); err != nil {
		return err
	}
	return m.Migrate("unix:"+sock, nil, nil, nil)
}

// queryMigrate is sent as is: go-qemu's generated reply type predates
// QEMU 7.2 and fails to decode 7.2's newer states (wait-unplug,
// postcopy-paused, postcopy-recover).
var queryMigrate, _ = json.Marshal(qmp.Command{Execute: "query-migrate"})

// waitMigration waits until QEMU says the transfer completed.
func waitMigration(ctx context.Context, mon qmp.Monitor, what string) error {
	for {
		out, err := mon.Run(queryMigrate)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		var reply struct {
			Return struct {
				Status    string `json:"status"`
				ErrorDesc string `json:"error-desc"`
			} `json:"return"`
		}
		if err := json.Unmarshal(out, &reply); err != nil {
			return fmt.Errorf("%s: query-migrate: %w", what, err)
		}
		switch reply.Return.Status {
		case "completed":
			return nil
		case "failed", "cancelled":
			return fmt.Errorf("%s: QEMU says %s: %s", what, reply.Return.Status, reply.Return.ErrorDesc)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-time.After(statePoll):
		}
	}
}

func accept(ctx context.Context, ln net.Listener) (net.Conn, error) {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	c, err := ln.Accept()
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return c, err
}

// giveToQEMU lets libvirt's QEMU user, and no one else, connect.
func giveToQEMU(sock string) error {
	if gid, ok := QEMUGroup(user.LookupGroup); ok {
		if err := os.Chown(sock, -1, gid); err == nil {
			return os.Chmod(sock, 0o660)
		}
	}
	// No such group, or not ours to give: QEMU runs as us or as root.
	return os.Chmod(sock, 0o600)
}

func randomHex() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
