package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// awsCLI is one AWS CLI on this machine.
type awsCLI struct {
	path    string
	version string // "aws-cli/2.9.19 ..."
}

// awsCLIs finds the AWS CLI v1 (on the image, pip's) and v2 (Debian's
// awscli, which set-up installs): the tests speak to the endpoint with
// both, as users of either will.
func awsCLIs(t *testing.T) (v1, v2 awsCLI) {
	t.Helper()
	candidates := []string{"/usr/local/bin/aws", "/usr/bin/aws"}
	if p, err := exec.LookPath("aws"); err == nil {
		candidates = append(candidates, p)
	}
	for _, p := range candidates {
		out, err := exec.Command(p, "--version").CombinedOutput()
		if err != nil {
			continue
		}
		c := awsCLI{path: p, version: strings.TrimSpace(string(out))}
		switch {
		case strings.HasPrefix(c.version, "aws-cli/1."):
			v1 = c
		case strings.HasPrefix(c.version, "aws-cli/2."):
			v2 = c
		}
	}
	if v1.path == "" || v2.path == "" {
		t.Fatalf("want the AWS CLI v1 and v2 (make setup installs Debian's awscli, v2); found v1 %q, v2 %q", v1.path, v2.path)
	}
	return v1, v2
}

// awsEnv is what `vmfleet aws env` exports, as KEY=VALUE.
func (e *testEnv) awsEnv() []string {
	e.t.Helper()
	var env []string
	for _, line := range strings.Split(strings.TrimSpace(e.must("aws", "env")), "\n") {
		kv, ok := strings.CutPrefix(line, "export ")
		if !ok {
			e.t.Fatalf("vmfleet aws env printed %q", line)
		}
		env = append(env, kv)
	}
	return env
}

// aws runs an AWS CLI with env, and --endpoint-url from it: Debian's v2
// (2.9) predates AWS_ENDPOINT_URL.
func (e *testEnv) aws(cli awsCLI, env []string, args ...string) (string, error) {
	e.t.Helper()
	var endpoint string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "AWS_ENDPOINT_URL="); ok {
			endpoint = v
		}
	}
	cmd := exec.Command(cli.path, append([]string{"--endpoint-url", endpoint, "--output", "json"}, args...)...)
	// Nothing of the machine's own AWS configuration may leak in.
	cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var amiPattern = regexp.MustCompile(`ami-[0-9a-f]{17}`)

func TestTheAWSCLIsSpeakToTheHomesEndpointWithItsKeyOnly(t *testing.T) {
	needLibvirt(t)
	v1, v2 := awsCLIs(t)
	e := newTestEnv(t)
	ami := amiPattern.FindString(e.must("bake", "--name", "web", "--binary", filepath.Join(binDir, "hello"), "--port", "8080", "--", "/app/hello"))
	if ami == "" {
		t.Fatal("bake printed no AMI id")
	}
	env := e.awsEnv()
	for _, cli := range []awsCLI{v1, v2} {
		t.Run(cli.version[:strings.IndexByte(cli.version, ' ')], func(t *testing.T) {
			out, err := e.aws(cli, env, "sts", "get-caller-identity")
			if err != nil || !strings.Contains(out, `"Account": "000000000000"`) {
				t.Fatalf("get-caller-identity: %v\n%s", err, out)
			}
			out, err = e.aws(cli, env, "ec2", "describe-images", "--owners", "self")
			if err != nil || !strings.Contains(out, ami) || !strings.Contains(out, `"Name": "web"`) {
				t.Fatalf("describe-images: %v\n%s", err, out)
			}
			name := "web-" + strings.TrimPrefix(strings.Fields(cli.version)[0], "aws-cli/")[:1]
			out, err = e.aws(cli, env, "ec2", "create-launch-template", "--launch-template-name", name,
				"--launch-template-data", `{"ImageId":"`+ami+`","InstanceType":"t3.micro"}`)
			if err != nil || !strings.Contains(out, `"LatestVersionNumber": 1`) {
				t.Fatalf("create-launch-template: %v\n%s", err, out)
			}
			out, err = e.aws(cli, env, "ec2", "describe-launch-template-versions", "--launch-template-name", name, "--versions", "$Latest")
			if err != nil || !strings.Contains(out, `"InstanceType": "t3.micro"`) || !strings.Contains(out, ami) {
				t.Fatalf("describe-launch-template-versions: %v\n%s", err, out)
			}

			// Another key, or none: refused with AWS's codes, nothing made.
			wrong := append(slices.Clone(env), "AWS_SECRET_ACCESS_KEY=not-the-homes-secret")
			out, err = e.aws(cli, wrong, "ec2", "create-launch-template", "--launch-template-name", name+"-forged",
				"--launch-template-data", `{"ImageId":"`+ami+`"}`)
			if err == nil || !strings.Contains(out, "SignatureDoesNotMatch") {
				t.Fatalf("signed with another secret: %v\n%s", err, out)
			}
			stranger := append(slices.Clone(env), "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE")
			if out, err = e.aws(cli, stranger, "sts", "get-caller-identity"); err == nil || !strings.Contains(out, "InvalidClientTokenId") {
				t.Fatalf("another key: %v\n%s", err, out)
			}
			if out, err = e.aws(cli, env, "--no-sign-request", "ec2", "delete-launch-template", "--launch-template-name", name); err == nil ||
				!strings.Contains(out, "MissingAuthenticationToken") {
				t.Fatalf("unsigned: %v\n%s", err, out)
			}
			out, err = e.aws(cli, env, "ec2", "describe-launch-templates")
			var lts struct {
				LaunchTemplates []struct{ LaunchTemplateName string }
			}
			if err != nil || json.Unmarshal([]byte(out), &lts) != nil {
				t.Fatalf("describe-launch-templates: %v\n%s", err, out)
			}
			for _, lt := range lts.LaunchTemplates {
				if lt.LaunchTemplateName == name+"-forged" {
					t.Fatal("a request signed with another secret made a launch template")
				}
			}
			if !slices.ContainsFunc(lts.LaunchTemplates, func(lt struct{ LaunchTemplateName string }) bool { return lt.LaunchTemplateName == name }) {
				t.Fatalf("the unsigned delete removed %s: %s", name, out)
			}
		})
	}
}

func TestAMemberOfTheVmfleetGroupGetsWhatTheCLINeeds(t *testing.T) {
	needLibvirt(t)
	g, err := user.LookupGroup("vmfleet")
	if err != nil {
		t.Fatalf("group vmfleet: %v (make setup makes it)", err)
	}
	e := newTestEnv(t)
	rootEnv := e.awsEnv()
	// nobody, with vmfleet as a supplementary group, as usermod -aG makes it.
	cmd := exec.Command("setpriv", "--reuid=nobody", "--regid=nogroup", "--groups="+g.Gid, "--inh-caps=-all",
		filepath.Join(binDir, "vmfleet"), "--home", e.home, "aws", "env")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("vmfleet aws env as a member of vmfleet: %v\n%s", err, out)
	}
	for _, kv := range rootEnv {
		if !strings.Contains(string(out), "export "+kv+"\n") {
			t.Errorf("the member's aws env lacks %s:\n%s", kv, out)
		}
	}
	cmd = exec.Command("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all",
		filepath.Join(binDir, "vmfleet"), "--home", e.home, "aws", "env")
	if out, err := cmd.CombinedOutput(); err == nil || strings.Contains(string(out), "AWS_SECRET_ACCESS_KEY") {
		t.Fatalf("someone outside the group read the key: %v\n%s", err, out)
	}
}
