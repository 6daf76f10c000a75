package main

import (
	"strings"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/awswire/awswiretest"
)

// The README's flow through aws-sdk-go-v2 (with a lifecycle hook),
// boto3 and an Ansible playbook, one after the other in one home, on
// real VMs. It runs beside the soak test (both are parallel): the soak
// is ten minutes of three guests at their CPU caps, and these flows
// mostly wait on boots and health checks, so the machine has room for
// both, and the soak checks its instances under that load too.
func TestTheFlowThroughTheSDKBoto3AndAnsible(t *testing.T) {
	needLibvirt(t)
	t.Parallel()
	e := newTestEnv(t)
	t.Run("aws-sdk-go-v2 with a lifecycle hook", func(t *testing.T) { sdkFlow(t, e.on(t)) })
	for _, c := range []struct {
		client string
		name   string
		run    func(t *testing.T, env []string, ami string) (string, error)
	}{
		{"boto3", "boto", func(t *testing.T, env []string, ami string) (string, error) {
			return awswiretest.Boto3Flow(t, env, ami, "hello from boto instance i-", 80)
		}},
		{"an Ansible playbook", "play", func(t *testing.T, env []string, ami string) (string, error) {
			return awswiretest.AnsiblePlaybook(t, env, "ami="+ami, "prefix=play", "expect=hello from play instance i-")
		}},
	} {
		t.Run(c.client, func(t *testing.T) {
			e := e.on(t)
			ami := amiPattern.FindString(e.must("bake", "--name", c.name, "--binary", bin("hello"), "--port", "8080", "--", "/app/hello", "-listen", ":8080"))
			out, err := c.run(t, e.awsEnv(), ami)
			if err != nil {
				t.Fatalf("%s: %v\n%s", c.client, err, out)
			}
			if ls := strings.TrimSpace(e.must("ls", "--json")); ls != "[]" {
				t.Fatalf("vmfleet ls after the %s flow: %s", c.client, ls)
			}
			e.assertNothingLeft()
		})
	}
}
