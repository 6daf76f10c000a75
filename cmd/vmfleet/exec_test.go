package main

import (
	"slices"
	"strings"
	"testing"
)

func TestExecTakesTheInstanceThenTheCommand(t *testing.T) {
	for _, args := range [][]string{{"i-1", "--", "ls", "-l"}, {"i-1", "ls", "-l"}} {
		inst, argv, err := execArgs(args)
		if inst != "i-1" || !slices.Equal(argv, []string{"ls", "-l"}) || err != nil {
			t.Errorf("execArgs(%q) = %q, %q, %v; want i-1 and ls -l", args, inst, argv, err)
		}
	}
}

func TestExecWithoutAnInstanceOrACommandSaysWhatToAdd(t *testing.T) {
	for args, want := range map[string]string{"": "name the instance", "i-1": "name the command", "i-1 --": "name the command"} {
		_, _, err := execArgs(strings.Fields(args))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("execArgs(%q): %v, want an error saying to %s", args, err, want)
		}
	}
}

func TestExecFlagsMayFollowTheInstanceButNotTheCommand(t *testing.T) {
	in := []string{"vmfleet", "exec", "i-1", "-it", "-e", "A=1", "--", "sh", "-c", "echo -n"}
	want := []string{"vmfleet", "exec", "-it", "-e", "A=1", "i-1", "--", "sh", "-c", "echo -n"}
	if got := interspersed(newApp(), in); !slices.Equal(got, want) {
		t.Errorf("interspersed(%q) = %q, want %q", in, got, want)
	}
}
