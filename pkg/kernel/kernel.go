// Package kernel finds the guest kernel and the modules a vmfleet guest needs,
// in the order they must be loaded.
//
// The kernel is an explicit input to every bake: its definition lives in
// images/kernel.json and can be overridden, and its version and contents are
// part of every image's digest.
package kernel

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Definition says which kernel to boot and which modules the guest loads.
type Definition struct {
	Package     string   `json:"package"`
	Series      string   `json:"series"`
	Flavour     string   `json:"flavour"`
	BootDir     string   `json:"boot_dir"`
	ModulesRoot string   `json:"modules_root"`
	Modules     []string `json:"modules"`
}

// ParseDefinition reads a kernel definition (images/kernel.json).
func ParseDefinition(data []byte) (Definition, error) {
	var d Definition
	if err := json.Unmarshal(data, &d); err != nil {
		return d, fmt.Errorf("parse kernel definition: %w", err)
	}
	if d.BootDir == "" || d.ModulesRoot == "" || len(d.Modules) == 0 {
		return d, errors.New("parse kernel definition: boot_dir, modules_root and modules are required")
	}
	return d, nil
}

// Selector overrides the definition: a version of the same layout, or an
// explicit kernel image and modules directory.
type Selector struct {
	Version    string // e.g. 6.1.0-56-cloud-amd64
	Image      string // path to a vmlinuz; needs ModulesDir
	ModulesDir string // the matching /lib/modules/VERSION
}

// SelectorFromEnv reads VMFLEET_KERNEL_VERSION, VMFLEET_KERNEL and
// VMFLEET_KERNEL_MODULES.
func SelectorFromEnv(getenv func(string) string) Selector {
	return Selector{
		Version:    getenv("VMFLEET_KERNEL_VERSION"),
		Image:      getenv("VMFLEET_KERNEL"),
		ModulesDir: getenv("VMFLEET_KERNEL_MODULES"),
	}
}

// Kernel is a resolved guest kernel.
type Kernel struct {
	Version    string
	Image      string   // path of the kernel image (vmlinuz)
	ModulesDir string   // directory holding modules.dep
	Modules    []string // module files relative to ModulesDir, in load order
}

// Resolve finds the kernel the definition and selector name, and the load
// order of the modules it lists.
func Resolve(def Definition, sel Selector) (*Kernel, error) {
	k := &Kernel{}
	switch {
	case sel.Image != "":
		if sel.ModulesDir == "" {
			return nil, errors.New("kernel: VMFLEET_KERNEL is set but VMFLEET_KERNEL_MODULES is not; set it to the kernel's /lib/modules/VERSION directory")
		}
		k.Image, k.ModulesDir = sel.Image, sel.ModulesDir
		k.Version = filepath.Base(sel.ModulesDir)
	case sel.Version != "":
		k.Version = sel.Version
		k.Image = filepath.Join(def.BootDir, "vmlinuz-"+sel.Version)
		k.ModulesDir = filepath.Join(def.ModulesRoot, sel.Version)
	default:
		v, err := newestInstalled(def)
		if err != nil {
			return nil, err
		}
		k.Version = v
		k.Image = filepath.Join(def.BootDir, "vmlinuz-"+v)
		k.ModulesDir = filepath.Join(def.ModulesRoot, v)
	}
	if _, err := os.Stat(k.Image); err != nil {
		return nil, fmt.Errorf("kernel %s: %w; install it (make setup) or pick another with --kernel-version", k.Version, err)
	}
	dep, err := os.ReadFile(filepath.Join(k.ModulesDir, "modules.dep"))
	if err != nil {
		return nil, fmt.Errorf("kernel %s modules: %w", k.Version, err)
	}
	order, err := LoadOrder(string(dep), def.Modules)
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", k.Version, err)
	}
	k.Modules = order
	return k, nil
}

// newestInstalled returns the highest installed kernel version of the
// definition's series and flavour that has both an image and modules.
func newestInstalled(def Definition) (string, error) {
	entries, err := os.ReadDir(def.BootDir)
	if err != nil {
		return "", fmt.Errorf("find guest kernel: %w", err)
	}
	var versions []string
	for _, e := range entries {
		v, ok := strings.CutPrefix(e.Name(), "vmlinuz-")
		if !ok || !strings.HasPrefix(v, def.Series) || !strings.HasSuffix(v, def.Flavour) {
			continue
		}
		if _, err := os.Stat(filepath.Join(def.ModulesRoot, v, "modules.dep")); err == nil {
			versions = append(versions, v)
		}
	}
	if len(versions) == 0 {
		return "", fmt.Errorf("find guest kernel: no %s*%s kernel in %s; install %s (make setup does)", def.Series, def.Flavour, def.BootDir, def.Package)
	}
	sort.Slice(versions, func(i, j int) bool { return versionLess(versions[i], versions[j]) })
	return versions[len(versions)-1], nil
}

// versionLess compares dotted/dashed versions numerically where it can, so
// 6.1.0-56 sorts after 6.1.0-9.
func versionLess(a, b string) bool {
	split := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '-' })
	}
	pa, pb := split(a), split(b)
	for i := 0; i < len(pa) && i < len(pb); i++ {
		na, ea := strconv.Atoi(pa[i])
		nb, eb := strconv.Atoi(pb[i])
		if ea == nil && eb == nil {
			if na != nb {
				return na < nb
			}
			continue
		}
		if pa[i] != pb[i] {
			return pa[i] < pb[i]
		}
	}
	return len(pa) < len(pb)
}

// ModuleName is the name the kernel knows a module file by: its base name
// without .ko and compression suffix, dashes read as underscores.
func ModuleName(file string) string {
	base := filepath.Base(file)
	if i := strings.Index(base, ".ko"); i >= 0 {
		base = base[:i]
	}
	return strings.ReplaceAll(base, "-", "_")
}

// LoadOrder reads modules.dep and returns the files of the wanted modules
// and everything they depend on, each dependency before its users and each
// file once. modules.dep lists a module's dependencies so that the last one
// must be loaded first (the order modprobe uses).
func LoadOrder(modulesDep string, want []string) ([]string, error) {
	deps := map[string][]string{} // file -> its dependency files
	byName := map[string]string{} // module name -> file
	for line := range strings.Lines(modulesDep) {
		file, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		deps[file] = strings.Fields(rest)
		byName[ModuleName(file)] = file
	}
	var order []string
	seen := map[string]bool{}
	var visit func(file string)
	visit = func(file string) {
		if seen[file] {
			return
		}
		seen[file] = true
		d := deps[file]
		for i := len(d) - 1; i >= 0; i-- {
			visit(d[i])
		}
		order = append(order, file)
	}
	var missing []string
	for _, name := range want {
		file, ok := byName[strings.ReplaceAll(name, "-", "_")]
		if !ok {
			missing = append(missing, name)
			continue
		}
		visit(file)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("modules %s not in modules.dep; they may be built into this kernel (remove them from the definition) or missing", strings.Join(missing, ", "))
	}
	return order, nil
}
