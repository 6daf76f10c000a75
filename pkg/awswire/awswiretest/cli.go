package awswiretest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// CLI runs the AWS CLI against endpoint with args and returns what it
// prints (asked for as JSON). The test is skipped when aws is not on PATH:
// the SDK tests cover the codecs without it, the CLI adds botocore's view.
//
// The CLI gets a home, config and credentials of its own, so nothing of
// the machine's AWS setup (a profile, a region, real keys) leaks in.
func CLI(t testing.TB, endpoint string, args ...string) []byte {
	t.Helper()
	aws, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the AWS CLI (aws) is not on PATH; install it (pip install awscli) to run this test")
	}
	home := t.TempDir()
	cmd := exec.CommandContext(t.Context(), aws, append([]string{
		"--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json",
	}, args...)...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env,
		"HOME="+home,
		"AWS_CONFIG_FILE="+filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"),
		"AWS_ACCESS_KEY_ID=AKIDTEST",
		"AWS_SECRET_ACCESS_KEY=secret",
		"AWS_PAGER=",
	)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("aws %v: %v\n%s", args, err, stderr)
	}
	return out
}
