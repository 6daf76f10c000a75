package snapshot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/vmfleet/vmfleet/pkg/agent"
	"github.com/vmfleet/vmfleet/pkg/guestconfig"
)

const (
	// capturePrefix marks a capture's working directory; it becomes the
	// template's only when complete.
	capturePrefix = ".capture-"
	// bootLimit bounds a template's boot to its waiting point: a guest
	// that does not get there is broken, not slow.
	bootLimit = 2 * time.Minute
	// placeholderDisk is the template's disk: the guest never reads it
	// (its driver loads only in clones), but the device must be there.
	placeholderDisk = "64M"
	// consoleFile is the template guest's console log in its capture.
	consoleFile = "console.log"
)

// errTemplateStopped: the template's guest died before it was ready (a
// kernel panic reboots it, and its domain destroys itself on reboot).
var errTemplateStopped = errors.New("the template guest stopped before it was ready; its console says why")

// aliveEvery is how often a booting template is checked for life.
const aliveEvery = 250 * time.Millisecond

// watchAlive cancels ctx with errTemplateStopped once the template's
// transient domain is gone, so a capture fails then and not at bootLimit.
func (s *Store) watchAlive(ctx context.Context, name string, stop context.CancelCauseFunc) {
	t := time.NewTicker(aliveEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.hv.AgentSocket(ctx, name, agent.PortName); err != nil && ctx.Err() == nil {
			stop(fmt.Errorf("%w (%v)", errTemplateStopped, err))
			return
		}
	}
}

// domainName is a template's domain while it boots and is saved; it
// names the store too, as two homes may capture the same key at once.
func (s *Store) domainName(key string) string {
	h := sha256.Sum256([]byte(s.dir))
	return "vmfleet-snapshot-" + key + "-" + hex.EncodeToString(h[:3])
}

// capture boots a template of the shape, waits until its guest waits for
// a clone's wake, and saves it.
func (s *Store) capture(ctx context.Context, key string, id identity, shape Shape) (t *Template, err error) {
	start := time.Now()
	work := filepath.Join(s.dir, capturePrefix+key)
	name := s.domainName(key)
	log := s.log.With("template", key)
	// A capture cut short (the daemon killed) leaves its domain and files.
	_ = s.hv.Destroy(ctx, name)
	if err := os.RemoveAll(work); err != nil {
		return nil, fmt.Errorf("capture template %s: %w", key, err)
	}
	if err := os.MkdirAll(work, 0o711); err != nil {
		return nil, fmt.Errorf("capture template %s: %w", key, err)
	}
	// The console of a failed capture outlives it (until a prune), as the
	// place where the guest says why.
	failedConsole := filepath.Join(s.dir, key+".failed-console.log")
	_ = os.Remove(failedConsole)
	defer func() {
		if err != nil {
			_ = s.hv.Destroy(context.WithoutCancel(ctx), name)
			_ = os.Rename(filepath.Join(work, consoleFile), failedConsole)
			_ = os.RemoveAll(work)
		}
	}()
	disk := filepath.Join(work, "disk.qcow2")
	if out, err := exec.CommandContext(ctx, "qemu-img", "create", "-q", "-f", "qcow2", disk, placeholderDisk).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("capture template %s: create its disk: %v: %s", key, err, strings.TrimSpace(string(out)))
	}
	spec := s.spec(shape, name, disk, filepath.Join(work, consoleFile))
	spec.Cmdline = strings.TrimSpace(spec.Cmdline + " " + guestconfig.TemplateArg)
	spec.MetadataXML = ""
	spec.CPUQuota = 0
	// The clones' fw_cfg holds their config; the template's holds none,
	// but has the entry, so both machines have the same devices.
	cfg := filepath.Join(work, "config.json")
	if err := os.WriteFile(cfg, []byte("{}"), 0o644); err != nil {
		return nil, fmt.Errorf("capture template %s: %w", key, err)
	}
	spec.FwCfg = map[string]string{guestconfig.FwCfgName: cfg}
	if err := s.hv.Create(ctx, spec, false); err != nil {
		return nil, fmt.Errorf("capture template %s: %w", key, err)
	}
	sock, err := s.hv.AgentSocket(ctx, name, agent.PortName)
	if err != nil {
		return nil, fmt.Errorf("capture template %s: %w", key, err)
	}
	bootCtx, cancel := context.WithTimeout(ctx, bootLimit)
	watched, stopped := context.WithCancelCause(bootCtx)
	go s.watchAlive(watched, name, stopped)
	conn, err := agent.AwaitReady(watched, sock)
	if cause := context.Cause(watched); err != nil && errors.Is(cause, errTemplateStopped) {
		err = cause
	}
	stopped(nil)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("capture template %s (console: %s): %w", key, failedConsole, err)
	}
	defer conn.Close()
	booted := time.Since(start)
	statePath := filepath.Join(work, "state")
	f, err := os.OpenFile(statePath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("capture template %s: %w", key, err)
	}
	err = s.hv.SaveState(ctx, name, work, f)
	if err == nil {
		// Synced, as the template file below: the rename of work makes
		// the template found, and clones would load what a crash left.
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("capture template %s: %w", key, err)
	}
	_ = s.hv.Destroy(ctx, name)
	for _, p := range []string{disk, cfg} {
		_ = os.Remove(p)
	}
	st, err := os.Stat(statePath)
	if err != nil {
		return nil, err
	}
	final := filepath.Join(s.dir, key)
	t = &Template{Key: key, Shape: shape, KernelDigest: id.Kernel, InitrdDigest: id.Initrd,
		State: filepath.Join(final, "state"), StateBytes: st.Size(), Created: time.Now().UTC(), Took: time.Since(start)}
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeSynced(filepath.Join(work, templateFile), append(b, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("capture template %s: %w", key, err)
	}
	_ = os.RemoveAll(final)
	if err := os.Rename(work, final); err != nil {
		return nil, fmt.Errorf("capture template %s: %w", key, err)
	}
	log.Info("captured template", "vcpus", shape.VCPUs, "memory_mib", shape.MemoryMiB,
		"boot", booted.Round(time.Millisecond), "took", t.Took.Round(time.Millisecond), "state_bytes", t.StateBytes)
	return t, nil
}

// writeSynced writes a new file and flushes it to disk.
func writeSynced(p string, b []byte, perm os.FileMode) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
