package fleetfile_test

import (
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/fleetfile"
)

// FuzzParse checks only that Parse never panics, and that it returns
// either a fleet or an error. Run it with
//
//	go test -fuzz FuzzParse -fuzztime 20s ./pkg/fleetfile/
func FuzzParse(f *testing.F) {
	if sample, err := os.ReadFile(sampleFile); err == nil {
		f.Add(sample)
	}
	for _, tc := range badFiles() {
		f.Add([]byte(strings.TrimPrefix(tc.yaml, "\n")))
	}
	f.Add([]byte("x: &a [*a]\nservices: &s {web: *s}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// No real file is read, whatever env_file the fuzzer writes.
		noFiles := func(path string) ([]byte, error) { return nil, fs.ErrNotExist }
		fleet, err := fleetfile.Parse("/srv/shop/fleet.yaml", data, fleetfile.WithReadFile(noFiles))
		if (fleet == nil) == (err == nil) {
			t.Fatalf("Parse returned fleet %v and error %v; want exactly one", fleet, err)
		}
		if err != nil && len(fleetfile.Errors(err)) == 0 {
			t.Fatalf("error %v carries no *Error", err)
		}
	})
}
