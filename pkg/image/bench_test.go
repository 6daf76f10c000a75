package image

import (
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The acceptance: a cold bake of a ~12 MB service within 1.5x of
// the e2fsprogs pipeline on the same inputs in the same run, and a re-bake
// of unchanged inputs under 50 ms. Compare cold/vmfleet with cold/e2fsprogs
// (and cold/e2fsprogs-4k) from one run with benchstat; on a shared machine
// run the binary several times with -test.count 1, so both sides see the
// same load.
//
// Both cold sides write a filesystem of the same size holding the same
// files, convert it to qcow2 and write the same initramfs. Only vmfleet
// hashes its inputs, validates them, copies the kernel into its fresh store
// and writes a manifest: that is what a cold bake costs. The e2fsprogs side
// gets its staging directory for free, outside the timer.
func BenchmarkBake(b *testing.B) {
	in := testInputs(b)
	src := b.TempDir()
	static := filepath.Join(src, "static")
	writeFile(b, filepath.Join(static, "index.html"), []byte("<h1>hello</h1>\n"), 0o644)
	// hello is about 9.5 MB; random bytes make up the rest of 12 MiB.
	blob := make([]byte, max(12<<20-len(readFile(b, helloBin)), 1<<20))
	rand.Read(blob)
	writeFile(b, filepath.Join(static, "assets", "blob.bin"), blob, 0o644)
	r := Recipe{Name: "hello", Binary: helloBin, Copies: []Copy{{Src: static, Dst: "/srv/static"}}, Port: 8080}
	c, err := binaryContent(&r)
	if err != nil {
		b.Fatal(err)
	}

	b.Run("cold/vmfleet", coldBakes(r, in))

	// The stage holds what vmfleet's filesystem holds.
	stage := filepath.Join(b.TempDir(), "root")
	for _, d := range []string{"dev", "proc", "sys", "run", "tmp", "etc", "root", "app"} {
		if err := os.MkdirAll(filepath.Join(stage, d), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	writeFile(b, filepath.Join(stage, "app", "hello"), readFile(b, helloBin), 0o755)
	writeFile(b, filepath.Join(stage, "etc", "passwd"), []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"), 0o644)
	writeFile(b, filepath.Join(stage, "etc", "group"), []byte("root:x:0:\nnogroup:x:65534:\n"), 0o644)
	writeFile(b, filepath.Join(stage, "etc", "nsswitch.conf"), []byte("hosts: files dns\n"), 0o644)
	writeFile(b, filepath.Join(stage, "srv", "static", "index.html"), readFile(b, filepath.Join(static, "index.html")), 0o644)
	writeFile(b, filepath.Join(stage, "srv", "static", "assets", "blob.bin"), blob, 0o644)
	size := fsSize(c.bytes)
	// mkfs.ext4's defaults, as the issue states the pipeline: under 512 MiB
	// that is the "small" type, 1 KiB blocks.
	b.Run("cold/e2fsprogs", e2fsprogsBakes(stage, size, in))
	// The same 4 KiB blocks vmfleet writes: the closer match.
	b.Run("cold/e2fsprogs-4k", e2fsprogsBakes(stage, size, in, "-b", "4096"))

	b.Run("rebake/vmfleet", func(b *testing.B) {
		s, err := OpenStore(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Bake(context.Background(), r, in); err != nil {
			b.Fatal(err)
		}
		for range b.N {
			if res, err := s.Bake(context.Background(), r, in); err != nil || !res.Cached {
				b.Fatalf("re-bake: cached=%v %v", res != nil && res.Cached, err)
			}
		}
	})
}

// coldBakes times bakes of r into fresh stores.
func coldBakes(r Recipe, in Inputs) func(b *testing.B) {
	return func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			root := filepath.Join(b.TempDir(), "store")
			b.StartTimer()
			s, err := OpenStore(root)
			if err != nil {
				b.Fatal(err)
			}
			if res, err := s.Bake(context.Background(), r, in); err != nil || res.Cached || res.SharedDisk {
				b.Fatalf("cold bake: %+v %v", res, err)
			}
			b.StopTimer()
			settle(root)
			b.StartTimer()
		}
	}
}

// e2fsprogsBakes times the pipeline a bake is measured against: mkfs.ext4
// -d of the staged tree into a filesystem of size bytes, qemu-img convert
// to qcow2, and the same initramfs vmfleet writes.
func e2fsprogsBakes(stage string, size int64, in Inputs, mkfsArgs ...string) func(b *testing.B) {
	return func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			out := b.TempDir()
			raw, qcow := filepath.Join(out, "disk.raw"), filepath.Join(out, "disk.qcow2")
			b.StartTimer()
			args := append([]string{"-q", "-d", stage, "-F"}, mkfsArgs...)
			benchRun(b, "mkfs.ext4", append(args, raw, strconv.FormatInt(size/1024, 10)+"k")...)
			benchRun(b, "qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, qcow)
			if err := os.Remove(raw); err != nil {
				b.Fatal(err)
			}
			if err := writeInitramfs(filepath.Join(out, "initrd.img"), in.Kernel, in.Init); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			settle(out)
			b.StartTimer()
		}
	}
}

// settle removes an iteration's output and flushes the page cache's dirty
// pages, outside the timer: otherwise the writeback (and discards) of one
// iteration land in the next one's time, whichever side it belongs to.
func settle(dir string) {
	os.RemoveAll(dir)
	syscall.Sync()
}

func benchRun(b *testing.B, name string, args ...string) {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		b.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}
