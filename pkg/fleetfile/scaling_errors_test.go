package fleetfile_test

import (
	"strings"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/fleetfile"
)

// webService is lines 1 to 5 of a valid file; what a case adds starts at
// line 6.
const webService = `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
`

// policies is webService with a scaling block whose target_tracking
// list starts at line 10.
const policies = webService + `    scaling:
      min: 1
      max: 6
      target_tracking:
`

// scalingBadFiles are badFiles about a service's scaling: and the
// instance count it bounds.
func scalingBadFiles() []badFile {
	return []badFile{
		// The block itself.
		{name: "scaling as a list", yaml: webService + `    scaling: [1, 6]
`, line: 6, want: "services.web.scaling: got a list, want a map; write it like {min: 1, max: 6}"},
		{name: "scaling without a value", yaml: webService + `    scaling:
`, line: 6, want: "services.web.scaling: has no value, want a map"},
		{name: "autoscaling for scaling", yaml: webService + `    autoscaling: {min: 1, max: 6}
`, line: 6, want: `unknown key "autoscaling"; did you mean scaling?`},
		{name: "unknown scaling key near a known one", yaml: webService + `    scaling: {min: 1, max: 6, instance_warmpu: 60s}
`, line: 6, want: `services.web.scaling.instance_warmpu: unknown key "instance_warmpu"; did you mean instance_warmup?`},
		{name: "AWS's name for min", yaml: webService + `    scaling: {MinSize: 1, max: 6}
`, line: 6, want: `unknown key "MinSize"; did you mean min?`},
		{name: "AWS's name for max, and max missing", yaml: webService + `    scaling: {min: 1, max_size: 6}
`, line: 6, want: `services.web.scaling.max_size: unknown key "max_size"; did you mean max?`},
		{name: "AWS's name for the policies", yaml: webService + `    scaling: {min: 1, max: 6, TargetTrackingConfiguration: []}
`, line: 6, want: "did you mean target_tracking?"},
		{name: "AWS's name for the warm-up", yaml: webService + `    scaling: {min: 1, max: 6, DefaultInstanceWarmup: 60s}
`, line: 6, want: "did you mean instance_warmup?"},
		{name: "unknown scaling key far from any known one", yaml: webService + `    scaling: {min: 1, max: 6, cooldown: 60s}
`, line: 6, want: "known keys here are min, max, instance_warmup, disable_scale_in, target_tracking"},

		// min and max.
		{name: "scaling with neither min nor max", yaml: webService + `    scaling: {instance_warmup: 60s}
`, line: 6, want: "services.web.scaling: scaling has neither min nor max; add min: 1 and max: 6 (AWS's MinSize and MaxSize)"},
		{name: "scaling without min", yaml: webService + `    scaling:
      max: 6
`, line: 6, want: "services.web.scaling.min: scaling has no min; add min: 1"},
		{name: "scaling without max", yaml: webService + `    scaling:
      min: 1
`, line: 6, want: "services.web.scaling.max: scaling has no max; add max: 6"},
		{name: "negative min", yaml: webService + `    scaling:
      min: -1
      max: 6
`, line: 7, want: "services.web.scaling.min: min -1 is negative; use 0 or more"},
		{name: "min as a fraction", yaml: webService + `    scaling: {min: 0.5, max: 6}
`, line: 6, want: "0.5 is not a whole number"},
		{name: "max quoted", yaml: webService + `    scaling: {min: 1, max: "6"}
`, line: 6, want: `services.web.scaling.max: "6" is a string, not a number`},
		{name: "max zero", yaml: webService + `    scaling:
      min: 0
      max: 0
`, line: 8, want: "services.web.scaling.max: max 0 is out of range; use 1 to 100"},
		{name: "max above the group limit", yaml: webService + `    scaling:
      min: 1
      max: 101
`, line: 8, want: "max 101 is out of range; use 1 to 100"},
		{name: "min above max", yaml: webService + `    scaling:
      min: 7
      max: 6
`, line: 7, want: "services.web.scaling.min: min 7 is more than max 6; make min at most max"},

		// The instance count against them.
		{name: "instances above max", yaml: webService + `    instances: 8
    scaling: {min: 1, max: 6}
`, line: 6, want: "services.web.instances: instances 8 is outside scaling's min 1 and max 6; set instances from 1 to 6, or change scaling's min or max"},
		{name: "instances below min", yaml: webService + `    scaling: {min: 2, max: 6}
    instances: 0
`, line: 7, want: "instances 0 is outside scaling's min 2 and max 6"},
		{name: "instances above the group limit without scaling", yaml: webService + `    instances: 500
`, line: 6, want: "services.web.instances: instances 500 is more than 100, the most one service may run; use 0 to 100"},

		// instance_warmup and disable_scale_in.
		{name: "warm-up without a unit", yaml: webService + `    scaling: {min: 1, max: 6, instance_warmup: 60}
`, line: 6, want: `services.web.scaling.instance_warmup: "60" is not a duration; write it like 2s or 500ms`},
		{name: "negative warm-up", yaml: webService + `    scaling: {min: 1, max: 6, instance_warmup: -1s}
`, line: 6, want: "-1s is out of range; use 0s to 1h, AWS's range"},
		{name: "warm-up above AWS's range", yaml: webService + `    scaling:
      min: 1
      max: 6
      instance_warmup: 2h
`, line: 9, want: "2h is out of range; use 0s to 1h"},
		{name: "disable_scale_in as yes", yaml: webService + `    scaling: {min: 1, max: 6, disable_scale_in: yes}
`, line: 6, want: `services.web.scaling.disable_scale_in: got "yes", want true or false; write it like true`},
		{name: "disable_scale_in quoted", yaml: webService + `    scaling: {min: 1, max: 6, disable_scale_in: "true"}
`, line: 6, want: `"true" is a string, not true or false`},

		// target_tracking as a whole.
		{name: "target tracking as a map", yaml: webService + `    scaling:
      min: 1
      max: 6
      target_tracking: {metric: cpu_utilization, target: 50}
`, line: 9, want: "services.web.scaling.target_tracking: got a map, want a list of policies; write it like [{metric: cpu_utilization, target: 50}]"},
		{name: "target tracking without a value", yaml: policies, line: 9, want: "target_tracking: has no value, want a list of policies"},
		{name: "policy as a string", yaml: webService + `    scaling:
      min: 1
      max: 6
      target_tracking: [cpu_utilization]
`, line: 9, want: `services.web.scaling.target_tracking[0]: got "cpu_utilization", want a map; write it like {metric: cpu_utilization, target: 50}`},
		{name: "same metric twice", yaml: policies + `        - {metric: cpu_utilization, target: 50}
        - {metric: cpu_utilization, target: 70}
`, line: 11, want: "services.web.scaling.target_tracking[1].metric: metric cpu_utilization already has a policy (line 10); keep one policy per metric"},

		// One policy.
		{name: "policy without a metric", yaml: policies + `        - {target: 50}
`, line: 10, want: "services.web.scaling.target_tracking[0].metric: the policy has no metric; add metric: cpu_utilization"},
		{name: "policy without a target", yaml: policies + `        - metric: network_in
`, line: 10, want: "target_tracking[0].target: the policy has no target; add target: 50"},
		{name: "unknown policy key near a known one", yaml: policies + `        - {metric: cpu_utilization, traget: 50}
`, line: 10, want: `target_tracking[0].traget: unknown key "traget"; did you mean target?`},
		{name: "policy as a list", yaml: policies + `        - [cpu_utilization, 50]
`, line: 10, want: "target_tracking[0]: got a list, want a map"},
		{name: "unknown metric", yaml: policies + `        - {metric: memory, target: 50}
`, line: 10, want: `services.web.scaling.target_tracking[0].metric: metric "memory" is not one vmfleet tracks; known metrics are cpu_utilization, request_count_per_target, network_in, network_out`},
		{name: "metric misspelt", yaml: policies + `        - {metric: network_inn, target: 1000}
`, line: 10, want: `metric "network_inn" is not one vmfleet tracks; did you mean network_in? known metrics are cpu_utilization,`},
		{name: "AWS's name for a metric", yaml: policies + `        - {metric: ALBRequestCountPerTarget, target: 600}
`, line: 10, want: "did you mean request_count_per_target? known metrics are"},
		{name: "target zero", yaml: policies + `        - {metric: network_out, target: 0}
`, line: 10, want: "services.web.scaling.target_tracking[0].target: target 0 must be more than zero; give the value the metric should be held at, like 50"},
		{name: "negative target", yaml: policies + `        - {metric: request_count_per_target, target: -5}
`, line: 10, want: "target -5 must be more than zero"},
		{name: "cpu target above 100 percent", yaml: policies + `        - {metric: cpu_utilization, target: 150}
`, line: 10, want: "target 150 is more than 100 percent of the CPU cap; give a percentage above 0 and at most 100, like 50"},
		{name: "cpu target as a percentage", yaml: policies + `        - {metric: cpu_utilization, target: 50%}
`, line: 10, want: `"50%" is not a number; write it like 50`},
		{name: "infinite target", yaml: policies + `        - {metric: network_in, target: .inf}
`, line: 10, want: "target .inf is not a finite number"},
	}
}

func TestTerminationPoliciesAreAWSNamesListedOnce(t *testing.T) {
	base := "name: shop\nservices:\n  web:\n    image: {binary: ./web}\n    command: [/app/web]\n    port: 8080\n    scaling:\n      min: 1\n      max: 3\n"
	f, err := fleetfile.Parse("fleet.yaml", []byte(base+"      termination_policies: [OldestInstance, Default]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Services[0].Scaling.TerminationPolicies; len(got) != 2 || got[0] != "OldestInstance" {
		t.Errorf("policies %v", got)
	}
	for _, tc := range []struct{ line, want string }{
		{"      termination_policies: [Newest]\n", `fleet.yaml:10: services.web.scaling.termination_policies[0]: unknown termination policy "Newest"; use one of Default, OldestInstance`},
		{"      termination_policies: [Default, Default]\n", "termination policy Default is listed twice"},
		{"      termination_policies: OldestInstance\n", "services.web.scaling.termination_policies"},
	} {
		_, err := fleetfile.Parse("fleet.yaml", []byte(base+tc.line))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: want %q, got %v", tc.line, tc.want, err)
		}
	}
}
