package image

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/u-root/u-root/pkg/cpio"

	"github.com/vmfleet/vmfleet/pkg/guestlayout"
	"github.com/vmfleet/vmfleet/pkg/kernel"
)

// writeInitramfs writes the guest's initramfs: vmfleet-init as /init, the
// kernel modules it loads and their load order, and /dev/console so init
// has a console before devtmpfs is mounted. It is uncompressed: under TCG
// the kernel unpacks it faster than it could decompress it.
func writeInitramfs(out string, k *kernel.Kernel, initBinary string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	w := cpio.Newc.Writer(f)
	records := []cpio.Record{
		cpio.Directory("dev", 0o755),
		cpio.CharDev("dev/console", 0o600, 5, 1),
		cpio.Directory("proc", 0o755),
		cpio.Directory("sys", 0o755),
		cpio.Directory(rel(guestlayout.NewRoot), 0o755),
		cpio.Directory("etc", 0o755),
		cpio.Directory("etc/vmfleet", 0o755),
		cpio.Directory("lib", 0o755),
		cpio.Directory(rel(guestlayout.ModulesDir), 0o755),
	}
	initData, err := os.ReadFile(initBinary)
	if err != nil {
		return fmt.Errorf("read init: %w", err)
	}
	records = append(records, cpio.StaticRecord(initData, cpio.Info{Name: rel(guestlayout.Init), Mode: cpio.S_IFREG | 0o755}))
	var order []string
	for _, m := range k.Modules {
		data, err := readModule(filepath.Join(k.ModulesDir, m))
		if err != nil {
			return err
		}
		name := kernel.ModuleName(m) + ".ko"
		order = append(order, name)
		records = append(records, cpio.StaticRecord(data, cpio.Info{Name: path.Join(rel(guestlayout.ModulesDir), name), Mode: cpio.S_IFREG | 0o644}))
	}
	records = append(records, cpio.StaticFile(rel(guestlayout.ModulesList), strings.Join(order, "\n")+"\n", 0o644))
	cpio.MakeAllReproducible(records)
	if err := cpio.WriteRecords(w, records); err != nil {
		return fmt.Errorf("write initramfs: %w", err)
	}
	if err := cpio.WriteTrailer(w); err != nil {
		return fmt.Errorf("write initramfs: %w", err)
	}
	return f.Close()
}

// readModule reads a module, decompressing .ko.xz and .ko.zst on the host
// so the guest needs no in-kernel decompressor.
func readModule(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("read module: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	switch {
	case strings.HasSuffix(p, ".xz"), strings.HasSuffix(p, ".zst"), strings.HasSuffix(p, ".gz"):
		tr, c, err := openCompressed(f)
		if err != nil {
			return nil, fmt.Errorf("decompress %s: %w", p, err)
		}
		defer c.Close()
		r = tr
	}
	return io.ReadAll(r)
}
