package image

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/limits"
)

// refuse bakes r into a fresh store, expects an error saying each of want,
// and checks the store is as empty as before.
func refuse(t *testing.T, r Recipe, want ...string) error {
	t.Helper()
	return refuseCtx(t, context.Background(), newStore(t), r, want...)
}

func refuseCtx(t *testing.T, ctx context.Context, s *Store, r Recipe, want ...string) error {
	t.Helper()
	res, err := s.Bake(ctx, r, stubInputs(t)) // a refusal boots nothing
	if err == nil {
		t.Fatalf("bake succeeded (%s), want an error saying %q", res.Manifest.Digest, want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	t.Logf("bake: %v", err)
	assertNothingLeft(t, s, r.Name)
	return err
}

func TestBakeRefusesAMissingBinary(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "hello")
	refuse(t, Recipe{Name: "hello", Binary: missing}, "--binary", missing, "no such file")
}

func TestBakeRefusesABinaryThatIsNotExecutable(t *testing.T) {
	p := copyOf(t, helloBin)
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	refuse(t, Recipe{Name: "hello", Binary: p}, p, "not executable", "chmod +x")
}

func TestBakeRefusesADirectoryAsTheBinary(t *testing.T) {
	refuse(t, Recipe{Name: "hello", Binary: t.TempDir()}, "not a regular file")
}

func TestBakeRefusesAScriptAsTheBinary(t *testing.T) {
	p := filepath.Join(t.TempDir(), "serve.sh")
	writeFile(t, p, []byte("#!/bin/sh\nexec busybox httpd -f\n"), 0o755)
	refuse(t, Recipe{Name: "hello", Binary: p}, p, "not a Linux executable", "--rootfs")
}

func TestBakeRefusesADynamicallyLinkedBinary(t *testing.T) {
	refuse(t, Recipe{Name: "ls", Binary: "/bin/ls"}, "/bin/ls", "dynamically linked", "CGO_ENABLED=0")
}

func TestBakeRefusesABinaryForAnotherArchitecture(t *testing.T) {
	p := copyOf(t, helloBin)
	b := readFile(t, p)
	b[18], b[19] = 183, 0 // e_machine: EM_AARCH64, little-endian
	writeFile(t, p, b, 0o755)
	refuse(t, Recipe{Name: "hello", Binary: p}, "EM_AARCH64", "x86-64")
}

func TestBakeRefusesBothABinaryAndARootfs(t *testing.T) {
	tarball := filepath.Join(t.TempDir(), "rootfs.tar")
	writeFile(t, tarball, tarBytes(t, rootfsEntries(t)), 0o644)
	refuse(t, Recipe{Name: "hello", Binary: helloBin, Rootfs: tarball, Command: []string{"/bin/sh"}}, "either --binary or --rootfs")
}

func TestBakeRefusesNeitherABinaryNorARootfs(t *testing.T) {
	refuse(t, Recipe{Name: "hello"}, "nothing to bake", "--binary", "--rootfs")
}

func TestBakeRefusesACopyWhoseSourceIsMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "static")
	refuse(t, Recipe{Name: "hello", Binary: helloBin, Copies: []Copy{{Src: missing, Dst: "/srv"}}}, "--copy", missing, "no such file")
}

func TestBakeRefusesACopyWithARelativeDestination(t *testing.T) {
	refuse(t, Recipe{Name: "hello", Binary: helloBin, Copies: []Copy{{Src: helloBin, Dst: "srv/hello"}}}, "--copy", "absolute path")
}

func TestParseCopyWantsSrcColonAbsoluteDst(t *testing.T) {
	for _, s := range []string{"./static", "./static:", ":/srv", ""} {
		if _, err := ParseCopy(s); err == nil || !strings.Contains(err.Error(), "SRC:DST") {
			t.Errorf("ParseCopy(%q) = %v, want an error showing SRC:DST", s, err)
		}
	}
	if _, err := ParseCopy("./static:srv/static"); err == nil || !strings.Contains(err.Error(), "absolute path") {
		t.Errorf("ParseCopy with a relative destination = %v, want an error asking for an absolute path", err)
	}
	c, err := ParseCopy("./static:/srv/static/")
	if err != nil || c != (Copy{Src: "./static", Dst: "/srv/static"}) {
		t.Errorf("ParseCopy(./static:/srv/static/) = %+v, %v", c, err)
	}
}

func TestBakeRefusesATarballItCannotRead(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "x.tar")
	writeFile(t, text, []byte("this is not a tarball\n"), 0o644)
	longText := filepath.Join(dir, "long.tar")
	writeFile(t, longText, []byte(strings.Repeat("this is not a tarball either\n", 100)), 0o644)
	empty := filepath.Join(dir, "empty.tar")
	writeFile(t, empty, tarBytes(t, nil), 0o644)
	emptyFile := filepath.Join(dir, "zero.tar")
	writeFile(t, emptyFile, nil, 0o644)
	badGzip := filepath.Join(dir, "bad.tar.gz")
	writeFile(t, badGzip, []byte{0x1f, 0x8b, 0, 0, 0, 0}, 0o644)
	missing := filepath.Join(dir, "missing.tar")
	for _, c := range []struct {
		name, path string
		want       []string
	}{
		{"text", text, []string{text, "not a readable tar archive"}},
		{"long text", longText, []string{longText, "not a readable tar archive"}},
		{"empty tar", empty, []string{empty, "empty"}},
		{"empty file", emptyFile, []string{emptyFile, "empty"}},
		{"broken gzip", badGzip, []string{badGzip, "not a readable tar archive"}},
		{"missing", missing, []string{missing, "no such file"}},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "-"), func(t *testing.T) {
			refuse(t, Recipe{Name: "web", Rootfs: c.path, Command: []string{"/bin/sh"}}, append(c.want, "--rootfs")...)
		})
	}
}

func TestBakeRefusesABadName(t *testing.T) {
	for _, name := range []string{"Hello", "hello_world", "", "-hello", "hello-", "hello.world"} {
		refuse(t, Recipe{Name: name, Binary: helloBin}, "name "+strconv.Quote(name), "lower-case letters")
	}
	// A fleet's images are named <fleet>-<service>, so an image name may
	// be as long as two names and a dash, but no longer.
	long := strings.Repeat("a", 2*limits.MaxNameLen+2)
	refuse(t, Recipe{Name: long, Binary: helloBin}, "name "+strconv.Quote(long), "is longer than 81 characters")
}

func TestTheImageOfAServiceWithTheLongestNamesInTheLongestNamedFleetIsValid(t *testing.T) {
	fleet, service := strings.Repeat("f", limits.MaxNameLen), strings.Repeat("s", limits.MaxNameLen)
	r := Recipe{Name: fleet + "-" + service, Binary: helloBin}
	if err := r.Validate(); err != nil {
		t.Fatalf("the fleet file allows fleet %s and service %s, but their image is refused: %v", fleet, service, err)
	}
}

func TestBakeRefusesABadEnvPair(t *testing.T) {
	for _, pair := range []string{"NOVALUE", "=x", "1A=x", "A-B=x", "A B=x"} {
		want := "is not a valid environment variable name"
		if !strings.Contains(pair, "=") {
			want = "write it as KEY=VALUE"
		}
		refuse(t, Recipe{Name: "hello", Binary: helloBin, Env: []string{"OK=1", pair}}, "--env", strconv.Quote(pair), want)
	}
}

func TestBakeRefusesAPortOutOfRange(t *testing.T) {
	for _, port := range []int{-1, 65536} {
		refuse(t, Recipe{Name: "hello", Binary: helloBin, Port: port}, "--port", "65535")
	}
}

func TestBakeThatFailsWhileUnpackingLeavesNothing(t *testing.T) {
	full := tarBytes(t, rootfsEntries(t))
	truncated := filepath.Join(t.TempDir(), "truncated.tar")
	// Cut inside busybox's data: the first header reads, the rest does not.
	writeFile(t, truncated, full[:len(full)/2], 0o644)
	t.Run("truncated", func(t *testing.T) {
		refuse(t, Recipe{Name: "web", Rootfs: truncated, Command: []string{"/bin/sh"}}, truncated, "truncated", "./bin/busybox")
	})

	tarball := filepath.Join(t.TempDir(), "rootfs.tar")
	writeFile(t, tarball, full, 0o644)
	t.Run("cancelled", func(t *testing.T) {
		s := newStore(t)
		ctx := cancelWhileWriting(s)
		err := refuseCtx(t, ctx, s, Recipe{Name: "web", Rootfs: tarball, Command: []string{"/bin/sh"}})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("bake cancelled while unpacking: %v, want context.Canceled", err)
		}
	})
}

func TestBakeThatFailsWhileCopyingLeavesNothing(t *testing.T) {
	static := t.TempDir()
	writeFile(t, filepath.Join(static, "a.html"), []byte("a\n"), 0o644)
	writeFile(t, filepath.Join(static, "b.html"), []byte("b\n"), 0o644)
	writeFile(t, filepath.Join(static, "c.html"), []byte("c\n"), 0o644)
	t.Run("cancelled", func(t *testing.T) {
		s := newStore(t)
		err := refuseCtx(t, cancelWhileWriting(s), s, Recipe{Name: "hello", Binary: helloBin, Copies: []Copy{{Src: static, Dst: "/srv"}}})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("bake cancelled while copying: %v, want context.Canceled", err)
		}
	})
	t.Run("a-fifo-among-the-copies", func(t *testing.T) {
		withFifo := copyTree(t, static)
		if err := syscall.Mkfifo(filepath.Join(withFifo, "d.fifo"), 0o644); err != nil {
			t.Fatal(err)
		}
		refuse(t, Recipe{Name: "hello", Binary: helloBin, Copies: []Copy{{Src: withFifo, Dst: "/srv"}}}, "d.fifo", "only files, directories and symlinks")
	})
}

// cancelWhileWriting is a context that cancels itself once a bake into s
// has its disk file and has looked at the context a few times since: the
// bake is then part-way through writing the filesystem.
func cancelWhileWriting(s *Store) context.Context {
	return &writeCanceller{Context: context.Background(), store: s, done: make(chan struct{})}
}

type writeCanceller struct {
	context.Context
	store *Store
	mu    sync.Mutex
	seen  int
	done  chan struct{}
}

func (c *writeCanceller) Done() <-chan struct{} { return c.done }

func (c *writeCanceller) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.done:
		return context.Canceled
	default:
	}
	if m, _ := filepath.Glob(filepath.Join(c.store.Root, "tmp", "*", "disk.raw")); len(m) > 0 {
		c.seen++
		if c.seen > 2 {
			close(c.done)
			return context.Canceled
		}
	}
	return nil
}
