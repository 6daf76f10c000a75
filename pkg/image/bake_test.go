package image

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestBakeOfABinaryMakesACheckedQcow2WithTheBinaryAndItsCopies(t *testing.T) {
	src := t.TempDir()
	static := filepath.Join(src, "static")
	writeFile(t, filepath.Join(static, "index.html"), []byte("<h1>hello</h1>\n"), 0o644)
	writeFile(t, filepath.Join(static, "css", "site.css"), []byte("body{}\n"), 0o600)
	config := filepath.Join(src, "config.yaml")
	writeFile(t, config, []byte("greeting: hi\n"), 0o640)

	s := newStore(t)
	in := testInputs(t)
	res := bake(t, s, Recipe{
		Name:   "hello",
		Binary: helloBin,
		Copies: []Copy{{Src: static, Dst: "/srv/static"}, {Src: config, Dst: "/etc/hello/config.yaml"}},
		Env:    []string{"GREETING=hi", "EMPTY="},
		Port:   8080,
	})
	if res.Cached {
		t.Error("the first bake into an empty store says it was cached")
	}
	m := res.Manifest

	raw := rawDisk(t, m)
	fsck(t, raw)
	if got := dump(t, raw, "/app/hello"); !bytes.Equal(got, readFile(t, helloBin)) {
		t.Errorf("/app/hello in the image (%d bytes) differs from the binary (%d bytes)", len(got), len(readFile(t, helloBin)))
	}
	if mode := inodeMode(t, raw, "/app/hello"); mode != "0755" {
		t.Errorf("/app/hello has mode %s, want 0755", mode)
	}
	for p, want := range map[string]string{
		"/srv/static/index.html":   "<h1>hello</h1>\n",
		"/srv/static/css/site.css": "body{}\n",
		"/etc/hello/config.yaml":   "greeting: hi\n",
		"/etc/nsswitch.conf":       "hosts: files dns\n",
	} {
		if got := string(dump(t, raw, p)); got != want {
			t.Errorf("%s in the image is %q, want %q", p, got, want)
		}
	}
	for p, want := range map[string]string{
		"/srv/static/css/site.css": "0600",
		"/etc/hello/config.yaml":   "0640",
	} {
		if mode := inodeMode(t, raw, p); mode != want {
			t.Errorf("%s has mode %s, want %s as on the host", p, mode, want)
		}
	}
	for _, d := range []string{"/dev", "/proc", "/sys", "/run", "/tmp", "/etc", "/app"} {
		if typ := inodeType(t, raw, d); typ != "directory" {
			t.Errorf("%s is a %s in the image, want a directory", d, typ)
		}
	}

	if m.Name != "hello" || len(m.Digest) != 64 || m.Source != "binary" || m.Port != 8080 {
		t.Errorf("manifest name %q digest %q source %q port %d", m.Name, m.Digest, m.Source, m.Port)
	}
	if !slices.Equal(m.Command, []string{"/app/hello"}) {
		t.Errorf("manifest command %q, want the binary in /app", m.Command)
	}
	if !slices.Equal(m.Env, []string{"GREETING=hi", "EMPTY="}) {
		t.Errorf("manifest env %q", m.Env)
	}
	if m.KernelVersion != in.Kernel.Version {
		t.Errorf("manifest kernel version %q, want %q", m.KernelVersion, in.Kernel.Version)
	}
	dir := filepath.Join(s.Root, "images", m.Digest)
	if filepath.Dir(filepath.Dir(m.Disk)) != filepath.Join(s.Root, "disks") || filepath.Dir(filepath.Dir(m.Initrd)) != filepath.Join(s.Root, "initrds") {
		t.Errorf("manifest disk %s initrd %s, want them in the store's shared disks and initrds", m.Disk, m.Initrd)
	}
	for _, p := range []string{m.Disk, m.Initrd, m.Kernel} {
		if !filepath.IsAbs(p) {
			t.Errorf("manifest path %s is not absolute", p)
		}
	}
	if !bytes.Equal(readFile(t, m.Kernel), readFile(t, in.Kernel.Image)) {
		t.Errorf("the store's kernel %s differs from %s", m.Kernel, in.Kernel.Image)
	}
	if want := stat(t, m.Disk).Size() + stat(t, m.Initrd).Size(); m.SizeBytes <= 0 || m.SizeBytes != want {
		t.Errorf("manifest size_bytes %d, want the qcow2 and initrd's %d", m.SizeBytes, want)
	}
	onDisk, err := readManifest(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if onDisk.Digest != m.Digest || !strings.HasPrefix(onDisk.Disk, s.Root) {
		t.Errorf("manifest.json says digest %s disk %s", onDisk.Digest, onDisk.Disk)
	}
}

func TestBakeLetsACopyReplaceASkeletonFile(t *testing.T) {
	// Shorter than the skeleton's /etc/passwd: what is left of that one
	// must not show through.
	passwd := filepath.Join(t.TempDir(), "passwd")
	writeFile(t, passwd, []byte("root:x:0:0::/:/app/hello\n"), 0o644)
	s := newStore(t)
	m := bake(t, s, Recipe{Name: "hello", Binary: helloBin, Copies: []Copy{{Src: passwd, Dst: "/etc/passwd"}}}).Manifest
	raw := rawDisk(t, m)
	fsck(t, raw)
	if got := string(dump(t, raw, "/etc/passwd")); got != "root:x:0:0::/:/app/hello\n" {
		t.Errorf("/etc/passwd is %q, want the copied file", got)
	}
}

func TestBakeRefusesTwoFilesForOnePath(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	writeFile(t, a, []byte("a\n"), 0o644)
	writeFile(t, b, []byte("b\n"), 0o644)
	for name, copies := range map[string][]Copy{
		"two copies":           {{Src: a, Dst: "/etc/x"}, {Src: b, Dst: "/etc/x"}},
		"a copy on the binary": {{Src: a, Dst: "/app/hello"}},
	} {
		t.Run(strings.ReplaceAll(name, " ", "-"), func(t *testing.T) {
			s := newStore(t)
			_, err := s.Bake(t.Context(), Recipe{Name: "hello", Binary: helloBin, Copies: copies}, testInputs(t))
			if err == nil || !strings.Contains(err.Error(), "twice") {
				t.Fatalf("bake with %s: %v, want an error naming the path written twice", name, err)
			}
			assertNothingLeft(t, s, "hello")
		})
	}
}

func TestBakeCopiesWhatASymlinkedSourcePointsAt(t *testing.T) {
	// Config managers and Nix hand out symlinks; the guest cannot follow
	// one to the host.
	dir := t.TempDir()
	real := filepath.Join(dir, "store", "config-v1.yaml")
	writeFile(t, real, []byte("version: 1\n"), 0o644)
	link := filepath.Join(dir, "config.yaml")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	realDir := filepath.Join(dir, "store", "static-v1")
	writeFile(t, filepath.Join(realDir, "index.html"), []byte("v1\n"), 0o644)
	if err := os.Symlink(filepath.Join(realDir, "index.html"), filepath.Join(realDir, "latest.html")); err != nil {
		t.Fatal(err)
	}
	linkDir := filepath.Join(dir, "static")
	if err := os.Symlink(realDir, linkDir); err != nil {
		t.Fatal(err)
	}
	r := Recipe{Name: "hello", Binary: helloBin, Copies: []Copy{{Src: link, Dst: "/etc/hello.yaml"}, {Src: linkDir, Dst: "/srv/static"}}}
	s := newStore(t)
	m := bake(t, s, r).Manifest
	raw := rawDisk(t, m)
	fsck(t, raw)
	if got := string(dump(t, raw, "/etc/hello.yaml")); got != "version: 1\n" {
		t.Errorf("/etc/hello.yaml is %q, want the file the symlink points at", got)
	}
	if got := string(dump(t, raw, "/srv/static/index.html")); got != "v1\n" {
		t.Errorf("/srv/static/index.html is %q, want the directory the symlink points at", got)
	}
	// Links inside a copied tree stay links, as cp -r and docker COPY keep them.
	if got := linkTarget(t, raw, "/srv/static/latest.html"); got != filepath.Join(realDir, "index.html") {
		t.Errorf("/srv/static/latest.html points at %q", got)
	}

	// The digest follows the contents behind the link.
	writeFile(t, real, []byte("version: 2\n"), 0o644)
	if res := bake(t, s, r); res.Cached || res.Manifest.Digest == m.Digest {
		t.Errorf("changing the file behind a copied symlink gave cached=%v, same digest=%v", res.Cached, res.Manifest.Digest == m.Digest)
	}
}

// The manifest holds the image's environment, secrets included; what QEMU
// reads, as its own user, stays reachable.
func TestBakeKeepsTheManifestFromOtherUsers(t *testing.T) {
	s := newStore(t)
	res, err := s.Bake(context.Background(), Recipe{Name: "hello", Binary: helloBin, Env: []string{"API_TOKEN=s3cret"}}, stubInputs(t))
	if err != nil {
		t.Fatalf("bake: %v", err)
	}
	dir := filepath.Join(s.Root, "images", res.Manifest.Digest)
	if mode := stat(t, filepath.Join(dir, "manifest.json")).Mode().Perm(); mode != 0o600 {
		t.Errorf("manifest.json has mode %o, want 0600", mode)
	}
	for _, d := range []string{dir, filepath.Dir(dir), filepath.Dir(res.Manifest.Disk), filepath.Dir(res.Manifest.Initrd), filepath.Dir(res.Manifest.Kernel)} {
		if mode := stat(t, d).Mode().Perm(); mode != 0o755 {
			t.Errorf("%s has mode %o, want 0755: QEMU must reach the image's files", d, mode)
		}
	}
	for _, f := range []string{res.Manifest.Disk, res.Manifest.Initrd, res.Manifest.Kernel} {
		if mode := stat(t, f).Mode().Perm(); mode&0o004 == 0 {
			t.Errorf("%s has mode %o: QEMU, running as its own user, cannot read it", f, mode)
		}
	}
	if b := readFile(t, s.namePath("hello")); string(b) != res.Manifest.Digest+"\n" {
		t.Errorf("the name hello holds %q, want the digest", b)
	}
	if mode := stat(t, s.namePath("hello")).Mode().Perm(); mode != 0o600 {
		t.Errorf("the name file has mode %o, want 0600", mode)
	}
	// The atomic writes leave no temporary file beside what they wrote.
	for _, d := range []string{filepath.Join(s.Root, "tmp"), filepath.Dir(res.Manifest.Kernel)} {
		entries, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if d != filepath.Dir(res.Manifest.Kernel) || e.Name() != "vmlinuz" {
				t.Errorf("left behind in %s: %s", d, e.Name())
			}
		}
	}
}
