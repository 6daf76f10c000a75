// Package elfdeps lists the files a dynamically linked ELF executable needs
// to start: its interpreter (the dynamic loader the kernel runs it with)
// and the shared libraries it needs, recursively, where the loader finds
// them. Copied to the same paths on another root, they let the executable
// start there; that is how a bake carries a dynamically linked /init.
package elfdeps

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// multiarch is the Debian/Ubuntu library directory triplet of a machine.
var multiarch = map[elf.Machine]string{
	elf.EM_X86_64:  "x86_64-linux-gnu",
	elf.EM_AARCH64: "aarch64-linux-gnu",
	elf.EM_386:     "i386-linux-gnu",
}

// List returns the absolute paths of exe's interpreter (first) and of every
// shared library it needs, directly or through another library, each once.
// A static executable, or a file that is not ELF at all, needs nothing: List
// returns nil for it. A library found nowhere is an error saying which.
func List(exe string) ([]string, error) {
	file, err := os.Open(exe)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", exe, err)
	}
	defer file.Close()
	magic := make([]byte, len(elf.ELFMAG))
	if _, err := io.ReadFull(file, magic); err != nil || string(magic) != elf.ELFMAG {
		return nil, nil
	}
	f, err := elf.NewFile(file)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", exe, err)
	}
	interp, err := Interpreter(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", exe, err)
	}
	if interp == "" {
		return nil, nil
	}
	if _, err := os.Stat(interp); err != nil {
		return nil, fmt.Errorf("%s needs the loader %s, which this host lacks; rebuild it with CGO_ENABLED=0 for a static binary", exe, interp)
	}
	w := walk{exe: exe, class: f.Class, machine: f.Machine, found: map[string]bool{
		// The loader answers to its own name: libc's need for it is met.
		filepath.Base(interp): true,
	}}
	w.paths = append(w.paths, interp)
	if err := w.needs(exe, f); err != nil {
		return nil, err
	}
	return w.paths, nil
}

// Interpreter is the program header's PT_INTERP path, or "" for a static
// executable.
func Interpreter(f *elf.File) (string, error) {
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			return "", fmt.Errorf("read PT_INTERP: %w", err)
		}
		return strings.TrimRight(string(b), "\x00"), nil
	}
	return "", nil
}

// walk resolves libraries for one executable: its class and machine decide
// which files can be its libraries.
type walk struct {
	exe     string
	class   elf.Class
	machine elf.Machine
	found   map[string]bool // needed names already resolved
	paths   []string
}

// needs resolves and follows the libraries obj (opened as f) names in
// DT_NEEDED.
func (w *walk) needs(obj string, f *elf.File) error {
	names, err := f.ImportedLibraries()
	if err != nil {
		return fmt.Errorf("read the libraries %s needs: %w", obj, err)
	}
	dirs := w.searchDirs(f)
	for _, name := range names {
		if w.found[name] {
			continue
		}
		w.found[name] = true
		p, lib, err := w.find(name, dirs)
		if err != nil {
			return err
		}
		if lib == nil {
			return fmt.Errorf("%s needs %s, found in none of %s; rebuild %s with CGO_ENABLED=0 for a static binary that needs no libraries",
				obj, name, strings.Join(dirs, ", "), w.exe)
		}
		w.paths = append(w.paths, p)
		err = w.needs(p, lib)
		lib.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// searchDirs are where the loader looks for f's libraries: f's own
// DT_RUNPATH (or DT_RPATH without one), then the system directories.
// Entries relative to $ORIGIN are left out: on another root the object's
// origin differs, so what they find here is not what the loader finds there.
func (w *walk) searchDirs(f *elf.File) []string {
	var dirs []string
	own, _ := f.DynString(elf.DT_RUNPATH)
	if len(own) == 0 {
		own, _ = f.DynString(elf.DT_RPATH)
	}
	for _, list := range own {
		for _, d := range filepath.SplitList(list) {
			if filepath.IsAbs(d) && !strings.Contains(d, "$") {
				dirs = append(dirs, d)
			}
		}
	}
	// glibc's own search order first; /lib64 holds little but the loader.
	if t, ok := multiarch[w.machine]; ok {
		dirs = append(dirs, "/lib/"+t, "/usr/lib/"+t)
	}
	dirs = append(dirs, "/lib", "/usr/lib")
	if w.class == elf.ELFCLASS64 {
		dirs = append(dirs, "/lib64")
	}
	return dirs
}

// find opens the first file called name in dirs that is an ELF object of
// the executable's class and machine, skipping others as the loader does
// (a 32-bit libc in /lib is not a 64-bit program's). It returns a nil file
// when there is none.
func (w *walk) find(name string, dirs []string) (string, *elf.File, error) {
	if strings.Contains(name, "/") {
		dirs = []string{""} // a path, not a name: the loader opens it as is
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		lib, err := elf.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		var fe *elf.FormatError
		if errors.As(err, &fe) {
			continue
		}
		if err != nil {
			return "", nil, fmt.Errorf("read library %s: %w", p, err)
		}
		if lib.Class == w.class && lib.Machine == w.machine {
			return p, lib, nil
		}
		lib.Close()
	}
	return "", nil, nil
}
