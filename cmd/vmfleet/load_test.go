package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A load's bad flags exit 2 in one line before the daemon is asked
// anything: no daemon is started for them.
func TestLoadRefusesBadFlagsInOneLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no service", []string{"load"}, "give one SERVICE"},
		{"a rate without /s", []string{"load", "web", "--rate", "200"}, "write N/s"},
		{"a rate too high", []string{"load", "web", "--rate", "100000/s"}, "at most 1000/s"},
		{"a zero duration", []string{"load", "web", "--for", "0s"}, "duration"},
		{"too many at once", []string{"load", "web", "-c", "1000"}, "concurrency"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			code, line, _ := runCLI(t, append([]string{"--home", home}, tc.args...)...)
			if code != 2 || !strings.Contains(line, tc.want) || strings.Contains(line, "\n") {
				t.Errorf("exit %d, %q; want 2 and one line about %q", code, line, tc.want)
			}
			if _, err := os.Stat(filepath.Join(home, "daemon.log")); err == nil {
				t.Errorf("a daemon was started for a bad load")
			}
		})
	}
}
