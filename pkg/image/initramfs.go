package image

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/u-root/u-root/pkg/cpio"

	"github.com/vmfleet/vmfleet/pkg/elfdeps"
	"github.com/vmfleet/vmfleet/pkg/guestlayout"
	"github.com/vmfleet/vmfleet/pkg/kernel"
)

// writeInitramfs writes the guest's initramfs: the init binary as /init
// (with its loader and libraries when it is dynamically linked), the kernel
// modules it loads and their load order, and /dev/console so init has a
// console before devtmpfs is mounted. It is uncompressed: under TCG the
// kernel unpacks it faster than it could decompress it.
func writeInitramfs(out string, k *kernel.Kernel, initBinary string) error {
	libs, err := initLibraries(initBinary)
	if err != nil {
		return err
	}
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
	if records, err = appendLibraries(records, libs); err != nil {
		return err
	}
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

// initLibraries are the files a dynamically linked init needs to start, at
// the absolute paths the kernel and its loader open them by; nothing for a
// static init.
func initLibraries(init string) ([]string, error) {
	libs, err := elfdeps.List(init)
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	return libs, nil
}

// appendLibraries adds each library at its own path, after the directories
// it lies in: the kernel's unpacker creates no missing parents.
func appendLibraries(records []cpio.Record, libs []string) ([]cpio.Record, error) {
	dirs := map[string]bool{}
	for _, r := range records {
		if r.Mode&cpio.S_IFMT == cpio.S_IFDIR {
			dirs[r.Name] = true
		}
	}
	for _, lib := range libs {
		name := rel(lib)
		var parents []string
		for d := path.Dir(name); d != "." && !dirs[d]; d = path.Dir(d) {
			parents = append(parents, d)
			dirs[d] = true
		}
		for _, d := range slices.Backward(parents) {
			records = append(records, cpio.Directory(d, 0o755))
		}
		data, err := os.ReadFile(lib)
		if err != nil {
			return nil, fmt.Errorf("read the init's library: %w", err)
		}
		// 0755: the kernel execs the interpreter.
		records = append(records, cpio.StaticRecord(data, cpio.Info{Name: name, Mode: cpio.S_IFREG | 0o755}))
	}
	return records, nil
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
