package dashboard

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"strings"
	"testing"
)

// The vendored files are the npm packages' files byte for byte: each has
// a line in SOURCES (written by scripts/vendor-dashboard.sh, which checks
// each tarball against the registry's integrity hash) whose SHA-256 it
// must match, so CI needs no network and a hand edit cannot slip in.
func TestVendoredFilesAreTheOnesFromNPM(t *testing.T) {
	manifest, err := staticFiles.ReadFile("static/vendor/SOURCES")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(manifest)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 5 || !strings.Contains(f[1], "@") || !strings.HasPrefix(f[3], "sha512-") {
			t.Fatalf("SOURCES line %q: want name, package@version, path, integrity, sha256", line)
		}
		want[f[0]] = f[4]
	}
	entries, err := fs.ReadDir(staticFiles, "static/vendor")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "SOURCES" {
			continue
		}
		b, err := staticFiles.ReadFile("static/vendor/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		switch h, ok := want[e.Name()]; {
		case !ok:
			t.Errorf("%s is not in SOURCES: vendor it with scripts/vendor-dashboard.sh", e.Name())
		case h != hex.EncodeToString(sum[:]):
			t.Errorf("%s differs from the npm package's file (sha256 %x, SOURCES says %s)", e.Name(), sum, h)
		}
		delete(want, e.Name())
	}
	for name := range want {
		t.Errorf("SOURCES lists %s, which is not vendored", name)
	}
	for _, must := range []string{"htmx.min.js", "sse.js", "uPlot.iife.min.js"} {
		if _, err := staticFiles.ReadFile("static/vendor/" + must); err != nil {
			t.Errorf("the page needs %s", must)
		}
	}
}
