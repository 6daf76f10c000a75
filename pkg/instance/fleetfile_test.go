package instance

import (
	"context"
	"fmt"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/fleetfile"
)

// A fleet file's cpu and memory reach the launcher unchanged, so the two
// must agree on every value: one the parser accepts and the launcher
// refuses fails every launch of the service, again and again; one the
// parser refuses and the launcher would take is a limit nobody meant.
// The values sit on and just past each bound. Zero is left out: it is a
// parse error, while to the launcher it means the default.
func TestLauncherAcceptsExactlyWhatAFleetFileMaySay(t *testing.T) {
	img := testImage(t)
	for _, tc := range []struct {
		key, value string
		opts       Options // the same value as the launcher takes it
	}{
		{"cpu", "0.009", Options{CPU: 0.009}},
		{"cpu", "0.01", Options{CPU: 0.01}},
		{"cpu", "0.5", Options{CPU: 0.5}},
		{"cpu", "64", Options{CPU: 64}},
		{"cpu", "64.01", Options{CPU: 64.01}},
		{"cpu", "100", Options{CPU: 100}},
		{"cpu", "256", Options{CPU: 256}},
		{"cpu", "-1", Options{CPU: -1}},
		{"memory", "95MiB", Options{MemoryBytes: 95 << 20}},
		{"memory", "100663295", Options{MemoryBytes: 96<<20 - 1}},
		{"memory", "96MiB", Options{MemoryBytes: 96 << 20}},
		{"memory", "100663297", Options{MemoryBytes: 96<<20 + 1}},
		{"memory", "1TiB", Options{MemoryBytes: 1 << 40}},
		{"memory", "1099511627777", Options{MemoryBytes: 1<<40 + 1}},
		{"memory", "2TiB", Options{MemoryBytes: 2 << 40}},
	} {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			_, perr := fleetfile.Parse("shop/fleet.yaml", fmt.Appendf(nil,
				"services:\n  web:\n    image: {binary: ./web}\n    command: [/web]\n    port: 8080\n    %s: %s\n", tc.key, tc.value))
			m, _ := newManager(t)
			tc.opts.Image = img
			inst, lerr := m.Launch(context.Background(), tc.opts)
			if inst != nil {
				if err := m.Terminate(context.Background(), inst, 0); err != nil {
					t.Fatal(err)
				}
			}
			switch {
			case perr == nil && lerr != nil:
				t.Errorf("a fleet file may say %s: %s, but the launcher refuses it: %v", tc.key, tc.value, lerr)
			case perr != nil && lerr == nil:
				t.Errorf("the launcher takes %s %s, but a fleet file may not say it: %v", tc.key, tc.value, perr)
			}
		})
	}
}
