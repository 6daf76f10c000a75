package daemon

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awswire/awswiretest"
)

// fakeEnv is what `vmfleet aws env` would export for the test endpoint
// at url, which takes any key.
func fakeEnv(url string) []string {
	return []string{"AWS_ENDPOINT_URL=" + url, "AWS_ACCESS_KEY_ID=AKIATEST", "AWS_SECRET_ACCESS_KEY=secret", "AWS_DEFAULT_REGION=us-east-1"}
}

// The playbook of the README's flow, on the hypervisor fake: each
// module's calls (and the Describe calls they make first) are answered
// as AWS would, and the playbook leaves nothing behind.
func TestTheAnsiblePlaybookMakesRefreshesAndRemovesAGroupBehindALoadBalancer(t *testing.T) {
	td := newTestDaemon(t)
	c := td.aws()
	ctx := context.Background()
	baked, err := td.d.Bake(ctx, api.BakeRequest{Name: "play", Binary: "/bin/busybox", Port: 8080, Command: []string{"/app/busybox"}})
	if err != nil {
		t.Fatal(err)
	}
	// Not port 80: a test on real VMs may have it on the same address
	// (the first load balancer of another home).
	out, err := awswiretest.AnsiblePlaybook(t, fakeEnv(c.url), "ami="+baked.Image.ImageID, "prefix=play", "expect=hello from i-",
		fmt.Sprintf("port=%d", freePort(t, "127.0.1.1")))
	if err != nil {
		t.Fatalf("ansible-playbook: %v\n%s", err, out)
	}
	groups, err := c.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil || len(groups.AutoScalingGroups) != 0 || len(td.d.Fleets()) != 0 || len(td.fake.Names()) != 0 {
		t.Fatalf("left behind: groups %+v (%v), fleets %+v, domains %v", groups.AutoScalingGroups, err, td.d.Fleets(), td.fake.Names())
	}
}

// The same flow through boto3 (testdata/aws/boto3_flow.py), on the
// hypervisor fake.
func TestTheBoto3FlowMakesRefreshesAndRemovesAGroupBehindALoadBalancer(t *testing.T) {
	td := newTestDaemon(t)
	c := td.aws()
	ctx := context.Background()
	baked, err := td.d.Bake(ctx, api.BakeRequest{Name: "boto", Binary: "/bin/busybox", Port: 8080, Command: []string{"/app/busybox"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := awswiretest.Boto3Flow(t, fakeEnv(c.url), baked.Image.ImageID, "hello from i-", int(freePort(t, "127.0.1.1")))
	if err != nil {
		t.Fatalf("boto3 flow: %v\n%s", err, out)
	}
	if len(td.d.Fleets()) != 0 || len(td.fake.Names()) != 0 {
		t.Fatalf("left behind: fleets %+v, domains %v", td.d.Fleets(), td.fake.Names())
	}
}
