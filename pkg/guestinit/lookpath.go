package guestinit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// defaultPath is the service's PATH unless its environment sets one.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// maxSymlinks is how many symlinks one lookup follows, as Linux's
// MAXSYMLINKS: the service's exec would fail with ELOOP past it.
const maxSymlinks = 40

// servicePath is the PATH the service runs with: the last one in env, as
// exec keeps the last of duplicate keys.
func servicePath(env []string) string {
	p := defaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			p = v
		}
	}
	return p
}

// lookPathIn finds a bare command name on pathList as a process chrooted
// into root would, and returns the PATH entry as seen from inside root (the
// kernel follows its links again at exec). exec.LookPath cannot do it: it
// would follow an absolute link such as Alpine's /bin/sh -> /bin/busybox
// on the initramfs. A name with a slash is the caller's path, as it is.
func lookPathIn(root, pathList, name string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	var broken error // the first entry that exists but cannot run: more use than "not found"
	for _, dir := range filepath.SplitList(pathList) {
		if !path.IsAbs(dir) {
			continue // relative to the working directory: refused, as exec.LookPath does (ErrDot)
		}
		// The directory may be a link too (merged /usr: /bin -> /usr/bin).
		d, err := resolveIn(root, dir)
		if err != nil {
			continue
		}
		if _, err := os.Lstat(filepath.Join(root, d, name)); err != nil {
			continue // not in this directory
		}
		p := path.Join(dir, name)
		err = executableIn(root, p)
		if err == nil {
			return p, nil
		}
		if broken == nil && !errors.Is(err, errIsDir) {
			broken = fmt.Errorf("%s: %s in the image: %w", name, p, err)
		}
	}
	if broken != nil {
		return "", broken
	}
	return "", fmt.Errorf("%s: not found in PATH (%s) inside the image; give its full path in the image, e.g. /bin/%s", name, pathList, name)
}

var errIsDir = errors.New("is a directory")

// executableIn says whether p, inside root, is an executable file once its
// links are followed.
func executableIn(root, p string) error {
	target, err := resolveIn(root, p)
	if err != nil {
		return err
	}
	fi, err := os.Stat(filepath.Join(root, target))
	switch {
	case err != nil:
		return err
	case fi.IsDir():
		return errIsDir
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file", target)
	case fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("%s is not executable", target)
	}
	return nil
}

// resolveIn follows the links in p, an absolute path inside root, as the
// kernel does for a process chrooted into root: an absolute target starts
// again at root, a relative one at the link's directory, ".." stops at
// root, and at most maxSymlinks links are followed. It returns p's path
// inside root with no links left in it.
func resolveIn(root, p string) (string, error) {
	done, todo := "/", p // done is free of links and never leaves root
	links := 0
	for todo != "" {
		var c string
		c, todo, _ = strings.Cut(todo, "/")
		switch c {
		case "", ".":
			continue
		case "..":
			done = path.Dir(done)
			continue
		}
		next := path.Join(done, c)
		host := filepath.Join(root, next)
		fi, err := os.Lstat(host)
		if err != nil {
			return "", fmt.Errorf("%s: %w", path.Join(next, todo), withoutPath(err))
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = next
			continue
		}
		if links++; links > maxSymlinks {
			return "", syscall.ELOOP
		}
		target, err := os.Readlink(host)
		if err != nil {
			return "", fmt.Errorf("%s: %w", next, withoutPath(err))
		}
		if path.IsAbs(target) {
			done = "/"
		}
		if todo != "" {
			target += "/" + todo
		}
		todo = target
	}
	return done, nil
}

// withoutPath drops the host path from a path error: messages name the
// path inside the image instead.
func withoutPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
