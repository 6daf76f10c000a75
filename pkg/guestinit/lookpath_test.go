package guestinit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// imageRoot lays out a directory tree as an image's root filesystem would
// be: files (mode 0755 unless a mode is given) and symlinks, by their path
// inside the image.
func imageRoot(t *testing.T, files map[string]os.FileMode, links map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, mode := range files {
		host := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(host, []byte("x"), mode); err != nil {
			t.Fatal(err)
		}
	}
	for p, target := range links {
		host := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, host); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestABareCommandIsFoundOnPathInsideTheImageNotOnTheInitramfs(t *testing.T) {
	root := imageRoot(t, map[string]os.FileMode{"usr/local/bin/svc": 0o755, "bin/busybox": 0o755, "bin/notafile/x": 0o755}, nil)
	for name, want := range map[string]string{"svc": "/usr/local/bin/svc", "busybox": "/bin/busybox", "/app/x": "/app/x", "./rel/x": "./rel/x"} {
		got, err := lookPathIn(root, defaultPath, name)
		if err != nil || got != want {
			t.Errorf("lookPathIn(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	// A directory is not a command.
	if _, err := lookPathIn(root, defaultPath, "notafile"); err == nil {
		t.Error("a directory was taken for a command")
	}
	if _, err := lookPathIn(root, defaultPath, "missing"); err == nil {
		t.Error("a missing command was found")
	}
}

// Alpine's /bin/sh is a link to /bin/busybox and Debian's alternatives are
// links into /etc/alternatives: absolute targets, which mean the image's
// root to the chrooted service, not the initramfs's.
func TestACommandLinkedWithAnAbsoluteTargetIsFollowedInsideTheImage(t *testing.T) {
	root := imageRoot(t,
		map[string]os.FileMode{"bin/busybox": 0o755, "usr/bin/python3.11": 0o755, "usr/lib/node/bin/node": 0o755},
		map[string]string{
			"bin/sh":                   "/bin/busybox",
			"usr/bin/python3":          "/etc/alternatives/python3",
			"etc/alternatives/python3": "/usr/bin/python3.11",
			"usr/bin/node":             "../lib/node/bin/node", // relative: to the link's directory
			"usr/local/bin/awk":        "/usr/bin/../../bin/busybox",
		})
	for name, want := range map[string]string{"sh": "/bin/sh", "python3": "/usr/bin/python3", "node": "/usr/bin/node", "awk": "/usr/local/bin/awk"} {
		got, err := lookPathIn(root, defaultPath, name)
		if err != nil || got != want {
			t.Errorf("lookPathIn(%q) = %q, %v; want %q (the PATH entry; the kernel follows the link in the chroot)", name, got, err, want)
		}
	}
}

// Merged /usr: /bin is a link to /usr/bin, relative in Debian, absolute in
// some images; the PATH directory itself is followed inside the image.
func TestAPathDirectoryThatIsALinkIsFollowedInsideTheImage(t *testing.T) {
	root := imageRoot(t, map[string]os.FileMode{"usr/bin/only-in-image": 0o755, "usr/sbin/also-in-image": 0o755},
		map[string]string{"bin": "/usr/bin", "sbin": "usr/sbin"})
	for name, want := range map[string]string{"only-in-image": "/bin/only-in-image", "also-in-image": "/sbin/also-in-image"} {
		if got, err := lookPathIn(root, "/sbin:/bin", name); err != nil || got != want {
			t.Errorf("lookPathIn(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
}

func TestACommandWhoseLinkGoesNowhereIsNotFound(t *testing.T) {
	// The initramfs holds its own /bin/busybox: a lookup that left the image
	// would find it.
	outside := imageRoot(t, map[string]os.FileMode{"bin/busybox": 0o755}, nil)
	root := imageRoot(t, map[string]os.FileMode{"etc/passwd": 0o644}, map[string]string{
		"bin/dangling": "/usr/bin/gone",
		"bin/loop":     "/bin/loop2",
		"bin/loop2":    "loop",
		"bin/escape":   "../../../../../../.." + outside + "/bin/busybox",
		"bin/escape2":  "/../../../.." + outside + "/bin/busybox",
		"bin/notexec":  "/etc/passwd",
	})
	for name, why := range map[string]string{
		"dangling": "no such file", "loop": "too many levels of symbolic links",
		"escape": "no such file", "escape2": "no such file", "notexec": "not executable",
	} {
		got, err := lookPathIn(root, defaultPath, name)
		if err == nil {
			t.Errorf("lookPathIn(%q) = %q, want an error", name, got)
			continue
		}
		t.Logf("%s: %v", name, err)
		if msg := err.Error(); !strings.Contains(msg, name) || !strings.Contains(msg, why) {
			t.Errorf("lookPathIn(%q): %q, want it to name the command and say %q", name, msg, why)
		}
	}
}

func TestADeepChainOfLinksIsFollowedUpToTheKernelsLimit(t *testing.T) {
	links := map[string]string{}
	chain := func(prefix string, n int) {
		for i := range n {
			links[filepath.Join("bin", prefix+itoa(i))] = "/bin/" + prefix + itoa(i+1)
		}
		links[filepath.Join("bin", prefix+itoa(n))] = "/bin/busybox"
	}
	chain("ok", maxSymlinks-1) // maxSymlinks links in all
	chain("long", maxSymlinks) // one more
	root := imageRoot(t, map[string]os.FileMode{"bin/busybox": 0o755}, links)
	if _, err := lookPathIn(root, defaultPath, "ok"+itoa(0)); err != nil {
		t.Errorf("a chain of %d links: %v", maxSymlinks, err)
	}
	if _, err := lookPathIn(root, defaultPath, "long"+itoa(0)); err == nil || !strings.Contains(err.Error(), "too many levels") {
		t.Errorf("a chain of %d links: %v, want too many levels of symbolic links", maxSymlinks+1, err)
	}
}

func TestTheServicesOwnPathIsSearched(t *testing.T) {
	root := imageRoot(t, map[string]os.FileMode{"opt/app/bin/svc": 0o755, "bin/svc": 0o755}, nil)
	env := []string{"PATH=/bin", "A=1", "PATH=/opt/app/bin:/bin"}
	if got, err := lookPathIn(root, servicePath(env), "svc"); err != nil || got != "/opt/app/bin/svc" {
		t.Errorf("with PATH=/opt/app/bin:/bin, svc = %q, %v; want /opt/app/bin/svc (the last PATH wins, as exec does)", got, err)
	}
	if got := servicePath([]string{"A=1"}); got != defaultPath {
		t.Errorf("no PATH in the env: %q, want the default %q", got, defaultPath)
	}
}

func itoa(i int) string { return string(rune('a'+i/26)) + string(rune('a'+i%26)) }
