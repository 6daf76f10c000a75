package main

import "testing"

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
		t.Run(tc.name, func(t *testing.T) { refusedOffline(t, tc.args, tc.want) })
	}
}
