package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mustAWS runs an AWS CLI and decodes its JSON answer into out (nil:
// none wanted), failing the test on an error.
func (e *testEnv) mustAWS(cli awsCLI, env []string, out any, args ...string) {
	e.t.Helper()
	got, err := e.aws(cli, env, args...)
	if err != nil {
		e.t.Fatalf("%s %s: %v\n%s", filepath.Base(cli.path), strings.Join(args, " "), err, got)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(got), out); err != nil {
			e.t.Fatalf("%s %s: %v\n%s", filepath.Base(cli.path), strings.Join(args, " "), err, got)
		}
	}
}

// The README's flow, with the AWS CLI v1 and v2 on real VMs: a launch
// template of a baked image, a target group, a load balancer and its
// listener on port 80, a group of 2 behind them that answers through the
// load balancer's DNSName, scaled to 3, then deleted with everything
// else; and a fleet file's group, seen through the same CLI.
func TestTheAWSCLIFlowRunsAGroupOfRealVMsBehindALoadBalancer(t *testing.T) {
	needLibvirt(t)
	v1, v2 := awsCLIs(t)
	e := newTestEnv(t)
	began := time.Now()
	step := func(what string) { t.Logf("%5.1fs %s", time.Since(began).Seconds(), what) }
	ami := amiPattern.FindString(e.must("bake", "--name", "web", "--binary", bin("hello"), "--port", "8080", "--", "/app/hello", "-listen", ":8080"))
	env := e.awsEnv()

	// A fleet file's group is described by the CLI as the group it is.
	fleet := filepath.Join(t.TempDir(), "fleet.yaml")
	os.WriteFile(fleet, []byte(fmt.Sprintf(`name: shop
time_scale: 0.1
services:
  api:
    image: {binary: %s}
    command: ["/app/hello", "-listen", ":8080"]
    port: 8080
    cpu: 0.5
    memory: 128MiB
    health: {path: /healthz, interval: 5s, timeout: 2s, healthy_threshold: 2}
`, bin("hello"))), 0o644)
	e.must("up", "-f", fleet, "-d", "--wait-timeout", "3m")
	step("the fleet file's group is up")
	var fleetGroups struct {
		AutoScalingGroups []struct {
			AutoScalingGroupName string
			DesiredCapacity      int
			TargetGroupARNs      []string
			Instances            []struct{ InstanceId, LifecycleState, HealthStatus string }
		}
	}
	e.mustAWS(v2, env, &fleetGroups, "autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names", "shop-api")
	if g := fleetGroups.AutoScalingGroups; len(g) != 1 || g[0].DesiredCapacity != 1 || len(g[0].Instances) != 1 ||
		g[0].Instances[0].LifecycleState != "InService" || len(g[0].TargetGroupARNs) != 1 {
		t.Fatalf("shop-api as the CLI sees it: %+v", g)
	}
	var fleetLBs struct {
		LoadBalancers []struct{ LoadBalancerName, DNSName string }
	}
	e.mustAWS(v1, env, &fleetLBs, "elbv2", "describe-load-balancers", "--names", "shop-api")
	if lbs := fleetLBs.LoadBalancers; len(lbs) != 1 || lbs[0].DNSName != "127.0.0.1" {
		t.Fatalf("shop-api's load balancer: %+v", lbs)
	}

	e.mustAWS(v1, env, nil, "ec2", "create-launch-template", "--launch-template-name", "web",
		"--launch-template-data", `{"ImageId":"`+ami+`","InstanceType":"t3.micro"}`)
	var tg struct {
		TargetGroups []struct{ TargetGroupArn string }
	}
	e.mustAWS(v2, env, &tg, "elbv2", "create-target-group", "--name", "web-tg", "--protocol", "HTTP", "--port", "8080",
		"--vpc-id", "vpc-0000000000000f1ee", "--health-check-path", "/healthz", "--health-check-interval-seconds", "5", "--health-check-timeout-seconds", "2",
		"--healthy-threshold-count", "2")
	tgARN := tg.TargetGroups[0].TargetGroupArn
	e.mustAWS(v1, env, nil, "elbv2", "modify-target-group-attributes", "--target-group-arn", tgARN,
		"--attributes", "Key=deregistration_delay.timeout_seconds,Value=20")
	var lb struct {
		LoadBalancers []struct{ LoadBalancerArn, DNSName string }
	}
	e.mustAWS(v1, env, &lb, "elbv2", "create-load-balancer", "--name", "web-lb", "--subnets", "subnet-0000000000000f1ee")
	e.mustAWS(v2, env, nil, "elbv2", "create-listener", "--load-balancer-arn", lb.LoadBalancers[0].LoadBalancerArn,
		"--protocol", "HTTP", "--port", "80", "--default-actions", "Type=forward,TargetGroupArn="+tgARN)
	e.mustAWS(v1, env, nil, "autoscaling", "create-auto-scaling-group", "--auto-scaling-group-name", "web",
		"--launch-template", "LaunchTemplateName=web", "--min-size", "1", "--max-size", "4", "--desired-capacity", "2",
		"--target-group-arns", tgARN, "--health-check-type", "ELB", "--health-check-grace-period", "60")
	e.mustAWS(v1, env, nil, "elbv2", "wait", "target-in-service", "--target-group-arn", tgARN)
	step("the group of 2 is in service")

	var dns struct{ LoadBalancers []struct{ DNSName string } }
	e.mustAWS(v2, env, &dns, "elbv2", "describe-load-balancers", "--names", "web-lb")
	resp, err := http.Get("http://" + dns.LoadBalancers[0].DNSName + ":80/")
	if err != nil {
		t.Fatalf("through the DNSName %s: %v", dns.LoadBalancers[0].DNSName, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "hello from web instance i-") {
		t.Fatalf("through the load balancer: %q", body)
	}
	if ls := e.must("ls"); !strings.Contains(ls, "web") {
		t.Fatalf("vmfleet ls does not list the group:\n%s", ls)
	}

	e.mustAWS(v2, env, nil, "autoscaling", "set-desired-capacity", "--auto-scaling-group-name", "web", "--desired-capacity", "3")
	step("desired 3 asked")
	e.waitFor("3 targets in service", 3*time.Minute, func() bool {
		var h struct {
			TargetHealthDescriptions []struct{ TargetHealth struct{ State string } }
		}
		e.mustAWS(v1, env, &h, "elbv2", "describe-target-health", "--target-group-arn", tgARN)
		healthy := 0
		for _, d := range h.TargetHealthDescriptions {
			if d.TargetHealth.State == "healthy" {
				healthy++
			}
		}
		return healthy == 3
	})

	// A target tracking policy, then a new launch template version rolled
	// out by an instance refresh at 50 % min healthy while requests keep
	// coming through the load balancer, none failing.
	e.mustAWS(v1, env, nil, "autoscaling", "put-scaling-policy", "--auto-scaling-group-name", "web", "--policy-name", "cpu50",
		"--policy-type", "TargetTrackingScaling", "--target-tracking-configuration",
		`{"PredefinedMetricSpecification":{"PredefinedMetricType":"ASGAverageCPUUtilization"},"TargetValue":50}`)
	var pols struct{ ScalingPolicies []struct{ PolicyName string } }
	e.mustAWS(v2, env, &pols, "autoscaling", "describe-policies", "--auto-scaling-group-name", "web")
	if len(pols.ScalingPolicies) != 1 || pols.ScalingPolicies[0].PolicyName != "cpu50" {
		t.Fatalf("policies: %+v", pols)
	}
	// Off again before the refresh: the load below would scale the group
	// out, and this test times the refresh, not target tracking.
	e.mustAWS(v1, env, nil, "autoscaling", "delete-policy", "--auto-scaling-group-name", "web", "--policy-name", "cpu50")
	e.mustAWS(v2, env, nil, "ec2", "create-launch-template-version", "--launch-template-name", "web", "--source-version", "1",
		"--launch-template-data", `{"InstanceType":"t3.small"}`)
	load := e.loadThrough("http://" + dns.LoadBalancers[0].DNSName + ":80/")
	step("the refresh begins")
	var refresh struct{ InstanceRefreshId string }
	e.mustAWS(v1, env, &refresh, "autoscaling", "start-instance-refresh", "--auto-scaling-group-name", "web",
		"--desired-configuration", `{"LaunchTemplate":{"LaunchTemplateName":"web","Version":"$Latest"}}`,
		"--preferences", `{"MinHealthyPercentage":50}`)
	e.waitFor("the instance refresh to succeed", 5*time.Minute, func() bool {
		var r struct {
			InstanceRefreshes []struct{ InstanceRefreshId, Status string }
		}
		e.mustAWS(v2, env, &r, "autoscaling", "describe-instance-refreshes", "--auto-scaling-group-name", "web")
		return len(r.InstanceRefreshes) == 1 && r.InstanceRefreshes[0].InstanceRefreshId == refresh.InstanceRefreshId &&
			r.InstanceRefreshes[0].Status == "Successful"
	})
	step("the refresh succeeded")
	if sent, failed := load(); sent == 0 || failed != 0 {
		t.Errorf("%d of %d requests through the load balancer failed during the instance refresh", failed, sent)
	}
	var refreshed struct {
		AutoScalingGroups []struct {
			Instances []struct {
				InstanceId, LifecycleState string
				LaunchTemplate             struct{ Version string }
			}
		}
	}
	e.mustAWS(v1, env, &refreshed, "autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names", "web")
	for _, i := range refreshed.AutoScalingGroups[0].Instances {
		if i.LaunchTemplate.Version != "2" || i.LifecycleState != "InService" {
			t.Errorf("after the refresh %s is on version %s, %s", i.InstanceId, i.LaunchTemplate.Version, i.LifecycleState)
		}
	}
	if n := len(refreshed.AutoScalingGroups[0].Instances); n != 3 {
		t.Errorf("%d instances after the refresh, want 3", n)
	}

	// A group the CLI made, without instances, goes with vmfleet down.
	step("the refresh is checked")
	e.mustAWS(v1, env, nil, "autoscaling", "create-auto-scaling-group", "--auto-scaling-group-name", "idle",
		"--launch-template", "LaunchTemplateName=web,Version=$Latest", "--min-size", "0", "--max-size", "1")
	e.must("down", "--fleet", "idle")

	e.mustAWS(v1, env, nil, "autoscaling", "delete-auto-scaling-group", "--auto-scaling-group-name", "web", "--force-delete")
	step("the group is deleted")
	e.mustAWS(v2, env, nil, "elbv2", "delete-load-balancer", "--load-balancer-arn", lb.LoadBalancers[0].LoadBalancerArn)
	e.mustAWS(v1, env, nil, "elbv2", "delete-target-group", "--target-group-arn", tgARN)
	e.mustAWS(v2, env, nil, "ec2", "delete-launch-template", "--launch-template-name", "web")
	e.must("down", "--fleet", "shop", "-t", "0s")

	var groups struct{ AutoScalingGroups []any }
	e.mustAWS(v1, env, &groups, "autoscaling", "describe-auto-scaling-groups")
	var lbs struct{ LoadBalancers []any }
	e.mustAWS(v1, env, &lbs, "elbv2", "describe-load-balancers")
	var tgs struct{ TargetGroups []any }
	e.mustAWS(v1, env, &tgs, "elbv2", "describe-target-groups")
	var lts struct{ LaunchTemplates []any }
	e.mustAWS(v1, env, &lts, "ec2", "describe-launch-templates")
	if len(groups.AutoScalingGroups)+len(lbs.LoadBalancers)+len(tgs.TargetGroups)+len(lts.LaunchTemplates) != 0 {
		t.Fatalf("left: groups %v, load balancers %v, target groups %v, launch templates %v", groups, lbs, tgs, lts)
	}
	if ls := strings.TrimSpace(e.must("ls", "--json")); ls != "[]" {
		t.Fatalf("vmfleet ls after everything went: %s", ls)
	}
	e.assertNothingLeft()
	step("nothing is left")
	if _, err := http.Get("http://" + dns.LoadBalancers[0].DNSName + ":80/"); err == nil {
		t.Fatal("the load balancer still answers after its deletion")
	}
}

// loadThrough sends requests to url from now on, one every 100 ms, until
// the returned func is called (at most 10 minutes), and then reports how
// many it sent and how many failed.
func (e *testEnv) loadThrough(url string) func() (sent, failed int) {
	stop, done := make(chan struct{}), make(chan [2]int, 1)
	go func() {
		client := &http.Client{Timeout: 10 * time.Second}
		var n, bad int
		for deadline := time.Now().Add(10 * time.Minute); time.Now().Before(deadline); {
			select {
			case <-stop:
				done <- [2]int{n, bad}
				return
			case <-time.After(100 * time.Millisecond):
			}
			n++
			resp, err := client.Get(url)
			if err != nil || resp.StatusCode != http.StatusOK {
				bad++
			}
			if resp != nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
		done <- [2]int{n, bad}
	}()
	return func() (int, int) {
		close(stop)
		r := <-done
		return r[0], r[1]
	}
}
