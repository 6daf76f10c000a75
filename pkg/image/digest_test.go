package image

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// digestOf is the digest Bake computes: after Validate filled defaults in.
func digestOf(t testing.TB, r Recipe, in Inputs) string {
	t.Helper()
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	d, err := Digest(&r, in)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// copyOf copies a host file to a fresh temporary path, keeping its mode.
func copyOf(t testing.TB, src string) string {
	t.Helper()
	fi, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), filepath.Base(src))
	writeFile(t, p, readFile(t, src), fi.Mode())
	return p
}

func TestBakeIsCachedByContent(t *testing.T) {
	static := t.TempDir()
	writeFile(t, filepath.Join(static, "index.html"), []byte("hi\n"), 0o644)
	r := Recipe{Name: "hello", Binary: helloBin, Copies: []Copy{{Src: static, Dst: "/srv"}}, Env: []string{"A=1"}, Port: 8080}
	s := newStore(t)
	first := bake(t, s, r).Manifest
	manifest := filepath.Join(s.Root, "images", first.Digest, "manifest.json")
	before := stat(t, manifest)
	disk := stat(t, first.Disk)

	again := bake(t, s, r)
	if !again.Cached {
		t.Error("a bake of unchanged inputs was not cached")
	}
	if again.Manifest.Digest != first.Digest {
		t.Errorf("unchanged inputs gave digest %s, then %s", first.Digest, again.Manifest.Digest)
	}
	if !stat(t, manifest).ModTime().Equal(before.ModTime()) || !stat(t, first.Disk).ModTime().Equal(disk.ModTime()) {
		t.Error("a cached bake rewrote the image")
	}
	if got, err := s.Get("hello"); err != nil || got.Digest != first.Digest {
		t.Errorf("Get(hello) = %v, %v after a cached bake", got, err)
	}
	images, _ := os.ReadDir(filepath.Join(s.Root, "images"))
	if len(images) != 1 {
		t.Errorf("the store holds %d images after baking the same inputs twice", len(images))
	}
}

func TestBakeOfChangedInputsIsANewImage(t *testing.T) {
	s := newStore(t)
	first := bake(t, s, Recipe{Name: "hello", Binary: helloBin, Env: []string{"A=1"}}).Manifest
	second := bake(t, s, Recipe{Name: "hello", Binary: helloBin, Env: []string{"A=2"}})
	if second.Cached || second.Manifest.Digest == first.Digest {
		t.Fatalf("a changed env gave cached=%v digest %s, the first was %s", second.Cached, second.Manifest.Digest, first.Digest)
	}
	if got, err := s.Get("hello"); err != nil || got.Digest != second.Manifest.Digest {
		t.Errorf("the name points at %v (%v), want the newest bake", got, err)
	}
}

func TestDigestChangesWithEveryInputThatShapesTheImage(t *testing.T) {
	in := testInputs(t)
	dir := t.TempDir()
	static := filepath.Join(dir, "static")
	writeFile(t, filepath.Join(static, "index.html"), []byte("<h1>hi</h1>\n"), 0o644)
	base := func() Recipe {
		return Recipe{
			Name: "hello", Binary: helloBin,
			Copies: []Copy{{Src: static, Dst: "/srv/static"}},
			Env:    []string{"A=1"}, Command: []string{"/app/hello", "-listen", ":8080"}, Port: 8080,
		}
	}
	want := digestOf(t, base(), in)

	patched := copyOf(t, helloBin)
	b := readFile(t, patched)
	b[len(b)/2] ^= 1
	writeFile(t, patched, b, 0o755)

	otherStatic := filepath.Join(dir, "other")
	writeFile(t, filepath.Join(otherStatic, "index.html"), []byte("<h1>ho</h1>\n"), 0o644)
	modeStatic := filepath.Join(dir, "mode")
	writeFile(t, filepath.Join(modeStatic, "index.html"), []byte("<h1>hi</h1>\n"), 0o600)
	extraStatic := filepath.Join(dir, "extra")
	writeFile(t, filepath.Join(extraStatic, "index.html"), []byte("<h1>hi</h1>\n"), 0o644)
	writeFile(t, filepath.Join(extraStatic, "more.html"), nil, 0o644)

	otherInit := copyOf(t, initBin)
	ib := readFile(t, otherInit)
	ib[len(ib)/2] ^= 1
	writeFile(t, otherInit, ib, 0o755)

	cases := map[string]func(r *Recipe, in *Inputs){
		"one byte of the binary":   func(r *Recipe, _ *Inputs) { r.Binary = patched },
		"an env var":               func(r *Recipe, _ *Inputs) { r.Env = []string{"A=2"} },
		"one more env var":         func(r *Recipe, _ *Inputs) { r.Env = append(r.Env, "B=1") },
		"the command":              func(r *Recipe, _ *Inputs) { r.Command = []string{"/app/hello", "-listen", ":9090"} },
		"the port":                 func(r *Recipe, _ *Inputs) { r.Port = 9090 },
		"a copied file's contents": func(r *Recipe, _ *Inputs) { r.Copies[0].Src = otherStatic },
		"a copied file's mode":     func(r *Recipe, _ *Inputs) { r.Copies[0].Src = modeStatic },
		"one more copied file":     func(r *Recipe, _ *Inputs) { r.Copies[0].Src = extraStatic },
		"a copy's destination":     func(r *Recipe, _ *Inputs) { r.Copies[0].Dst = "/srv/www" },
		"the name":                 func(r *Recipe, _ *Inputs) { r.Name = "hello2" },
		"the init binary":          func(_ *Recipe, in *Inputs) { in.Init = otherInit },
		"the kernel version":       func(_ *Recipe, in *Inputs) { k := *in.Kernel; k.Version += "-other"; in.Kernel = &k },
	}
	seen := map[string]string{want: "the base recipe"}
	for name, change := range cases {
		r, in := base(), in
		change(&r, &in)
		got := digestOf(t, r, in)
		if prev, ok := seen[got]; ok {
			t.Errorf("changing %s gives the same digest as %s", name, prev)
		}
		seen[got] = name
	}
}

func TestDigestDoesNotDependOnMtimesOrWhereInputsLie(t *testing.T) {
	in := testInputs(t)
	dir := t.TempDir()
	bin := copyOf(t, helloBin)
	static := filepath.Join(dir, "static")
	writeFile(t, filepath.Join(static, "index.html"), []byte("hi\n"), 0o644)
	r := Recipe{Name: "hello", Binary: bin, Copies: []Copy{{Src: static, Dst: "/srv"}}}
	want := digestOf(t, r, in)

	s := newStore(t)
	if got := bake(t, s, r).Manifest.Digest; got != want {
		t.Fatalf("Bake's digest %s differs from Digest's %s", got, want)
	}
	later := time.Now().Add(time.Hour)
	for _, p := range []string{bin, static, filepath.Join(static, "index.html")} {
		if err := os.Chtimes(p, later, later); err != nil {
			t.Fatal(err)
		}
	}
	res := bake(t, s, r)
	if res.Manifest.Digest != want || !res.Cached {
		t.Errorf("after touching the inputs: digest %s cached %v, want %s cached", res.Manifest.Digest, res.Cached, want)
	}

	// The same bytes from elsewhere on the host are the same image.
	moved := Recipe{Name: "hello", Binary: copyOf(t, bin), Copies: []Copy{{Src: copyTree(t, static), Dst: "/srv"}}}
	if got := digestOf(t, moved, in); got != want {
		t.Errorf("the same inputs from other host paths give digest %s, want %s", got, want)
	}
}

func copyTree(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), fi.Mode().Perm())
		}
		writeFile(t, filepath.Join(dst, rel), readFile(t, p), fi.Mode().Perm())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func stat(t testing.TB, p string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

func TestConcurrentBakesOfTheSameInputsMakeOneImage(t *testing.T) {
	s := newStore(t)
	r := Recipe{Name: "hello", Binary: helloBin}
	in := testInputs(t)
	var wg sync.WaitGroup
	results := make([]*Result, 3)
	errs := make([]error, 3)
	for i := range results {
		wg.Go(func() { results[i], errs[i] = s.Bake(t.Context(), r, in) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("bake %d: %v", i, err)
		}
		if results[i].Manifest.Digest != results[0].Manifest.Digest {
			t.Errorf("bake %d gave digest %s, bake 0 %s", i, results[i].Manifest.Digest, results[0].Manifest.Digest)
		}
	}
	images, _ := os.ReadDir(filepath.Join(s.Root, "images"))
	tmp, _ := os.ReadDir(filepath.Join(s.Root, "tmp"))
	if len(images) != 1 || len(tmp) != 0 {
		t.Errorf("concurrent bakes left %d images and %d entries in tmp/, want 1 and 0", len(images), len(tmp))
	}
	fsck(t, rawDisk(t, results[0].Manifest))
}
