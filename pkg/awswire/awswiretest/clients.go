package awswiretest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// The README's flow as other clients run it: testdata/aws/boto3_flow.py
// (boto3) and testdata/aws/playbook.yml (Ansible's amazon.aws and
// community.aws modules). env gives the endpoint, key and region as
// `vmfleet aws env` exports them (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION); nothing of the machine's
// own AWS configuration is read.

// Boto3Flow runs the boto3 flow with the AMI ami, whose service answers
// with expect in its body, its load balancer listening on port, and
// returns what it printed.
func Boto3Flow(t testing.TB, env []string, ami, expect string, port int) (string, error) {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is not installed: make setup installs it with python3-boto3")
	}
	cmd := exec.CommandContext(t.Context(), python, testdata("boto3_flow.py"), ami, expect, strconv.Itoa(port))
	cmd.Env = clientEnv(t, env)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// AnsiblePlaybook runs the playbook with vars (KEY=VALUE: ami, prefix
// for the resources' names, expect for what the service answers, port
// for the listener's if not 80) and returns its output.
func AnsiblePlaybook(t testing.TB, env []string, vars ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("ansible-playbook")
	if err != nil {
		t.Fatal("ansible-playbook is not installed: make setup installs Debian's ansible (with amazon.aws and community.aws) and python3-boto3")
	}
	args := []string{testdata("playbook.yml")}
	for _, v := range vars {
		args = append(args, "-e", v)
	}
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Env = clientEnv(t, env)
	for _, kv := range env {
		// amazon.aws 5 reads its endpoint from AWS_URL.
		if v, ok := strings.CutPrefix(kv, "AWS_ENDPOINT_URL="); ok {
			cmd.Env = append(cmd.Env, "AWS_URL="+v)
		}
	}
	// Debian's Python, which has Debian's boto3, the modules' need.
	cmd.Env = append(cmd.Env, "ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3", "ANSIBLE_LOCALHOST_WARNING=false", "ANSIBLE_NOCOLOR=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// clientEnv is this process's environment without its AWS settings,
// with a home of its own and env.
func clientEnv(t testing.TB, env []string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "HOME=") {
			out = append(out, kv)
		}
	}
	return append(append(out, "HOME="+t.TempDir(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"), env...)
}

// testdata is a file of the repository's testdata/aws.
func testdata(name string) string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), "..", "..", "..", "testdata", "aws", name)
}
