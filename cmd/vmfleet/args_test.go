package main

import (
	"slices"
	"testing"
)

func TestFlagsMayFollowThePositionalArguments(t *testing.T) {
	app := newApp()
	for _, tc := range []struct{ in, want []string }{
		{[]string{"vmfleet", "run", "hello", "--cpu", "0.5", "--json"}, []string{"vmfleet", "run", "--cpu", "0.5", "--json", "hello"}},
		{[]string{"vmfleet", "--home", "/h", "rm", "i-1", "-f"}, []string{"vmfleet", "--home", "/h", "rm", "-f", "i-1"}},
		{[]string{"vmfleet", "run", "hello", "--memory=1GiB"}, []string{"vmfleet", "run", "--memory=1GiB", "hello"}},
		// After "--" everything is the service's own command line.
		{[]string{"vmfleet", "bake", "--name", "x", "--", "/app/x", "-listen", ":80"}, []string{"vmfleet", "bake", "--name", "x", "--", "/app/x", "-listen", ":80"}},
	} {
		if got := interspersed(app, tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("interspersed(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
