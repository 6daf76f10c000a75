package main

import "testing"

// A fault's bad arguments exit 2 in one line, before the daemon is asked
// (none is started for them).
func TestFaultRefusesBadArgumentsInOneLine(t *testing.T) {
	const id = "i-0123456789ab"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"nothing", []string{"fault"}, "give a fault and the INSTANCE it hits"},
		{"no instance", []string{"fault", "kill"}, "fault kill: give one INSTANCE"},
		{"a cpu fault with no instance", []string{"fault", "cpu"}, "fault cpu: give one INSTANCE"},
		{"two instances", []string{"fault", "network", id, "i-ba9876543210"}, "fault network: give one INSTANCE"},
		{"a libvirtd fault with an instance", []string{"fault", "libvirtd", id}, "takes no INSTANCE"},
		{"an unknown fault", []string{"fault", "melt", id}, `fault "melt": give kill, pause, cpu, unhealthy or network`},
		{"a kill with a duration", []string{"fault", "kill", id, "--for", "5s"}, "a kill is not undone"},
		{"a pause of no time", []string{"fault", "pause", id, "--for", "0s"}, "whole seconds"},
		{"a pause of part of a second", []string{"fault", "pause", id, "--for", "1500ms"}, "whole seconds"},
		{"a cpu fault too long", []string{"fault", "cpu", id, "--for", "11m"}, "up to 10m0s"},
		{"an unhealthy fault of negative time", []string{"fault", "unhealthy", id, "--for", "-5s"}, "whole seconds"},
		{"a network fault of part of a second", []string{"fault", "network", id, "--for", "2.5s"}, "whole seconds"},
		{"a libvirtd fault too long", []string{"fault", "libvirtd", "--for", "1h"}, "up to 10m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) { refusedOffline(t, tc.args, tc.want) })
	}
}
