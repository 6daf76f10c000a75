package guestinit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vmfleet/vmfleet/pkg/guestlayout"
)

// loadModules loads the drivers the bake put in the initramfs, in the
// dependency order it wrote down (modules.dep order, computed on the
// host), but for lateModules.
func loadModules(_ context.Context, _ *Init) error {
	return loadSome(func(name string) bool { return !lateModules[strings.TrimSuffix(name, ".ko")] })
}

// loadLateModules loads lateModules: in a clone, after it woke (without
// fw_cfg's when the wake brought the config).
func loadLateModules(_ context.Context, in *Init) error {
	return loadSome(func(name string) bool {
		m := strings.TrimSuffix(name, ".ko")
		return lateModules[m] && !(m == fwCfgModule && in.Config != nil)
	})
}

func loadSome(want func(name string) bool) error {
	list, err := os.ReadFile(guestlayout.ModulesList)
	if err != nil {
		return err
	}
	for _, name := range strings.Fields(string(list)) {
		if !want(name) {
			continue
		}
		if err := loadModule(filepath.Join(guestlayout.ModulesDir, name)); err != nil {
			return err
		}
	}
	return nil
}

func loadModule(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), "", 0); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("load %s: %w", filepath.Base(path), err)
	}
	return nil
}
