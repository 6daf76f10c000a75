package elbv2api_test

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awsapi/elbv2api"
	"github.com/vmfleet/vmfleet/pkg/awsauth"
	"github.com/vmfleet/vmfleet/pkg/awswire/awswiretest"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// idle is a runtime with no groups running.
type idle struct{ rebound []string }

func (r *idle) RebindGroups(_ context.Context, tg string) error {
	r.rebound = append(r.rebound, tg)
	return nil
}
func (r *idle) Instances(context.Context) ([]api.InstanceRow, error) { return nil, nil }
func (r *idle) TargetHealth(string) map[string]string                { return nil }

func client(t *testing.T) (*elbv2.Client, *idle) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rt := &idle{}
	svc := &elbv2api.ELBv2{Store: st, Runtime: rt, Account: "000000000000", Region: "us-east-1"}
	srv := httptest.NewServer(awsapi.New(&awsauth.Verifier{AnyCredentials: true, Region: "us-east-1"}, nil, svc.Service()))
	t.Cleanup(srv.Close)
	return elbv2.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Retryer: awswiretest.Retryer,
		Credentials: credentials.NewStaticCredentialsProvider("AKIATEST", "x", "")}), rt
}

func code(t *testing.T, err error, want string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

var ctx = context.Background()

func tg(name string) *elbv2.CreateTargetGroupInput {
	return &elbv2.CreateTargetGroupInput{Name: aws.String(name), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(8080)}
}

func TestBadTargetGroupsAreRefusedWithELBsCodes(t *testing.T) {
	c, _ := client(t)
	for _, tc := range []struct {
		name string
		in   *elbv2.CreateTargetGroupInput
		code string
	}{
		{"a name with an underscore", tg("web_tg"), "ValidationError"},
		{"a name of 33 characters", tg("a23456789012345678901234567890123"), "ValidationError"},
		{"HTTPS", func() *elbv2.CreateTargetGroupInput {
			in := tg("web")
			in.Protocol = types.ProtocolEnumHttps
			return in
		}(), "ValidationError"},
		{"ip targets", func() *elbv2.CreateTargetGroupInput {
			in := tg("web")
			in.TargetType = types.TargetTypeEnumIp
			return in
		}(), "ValidationError"},
		{"an interval of 3 s", func() *elbv2.CreateTargetGroupInput {
			in := tg("web")
			in.HealthCheckIntervalSeconds = aws.Int32(3)
			return in
		}(), "ValidationError"},
		{"a timeout not below the interval", func() *elbv2.CreateTargetGroupInput {
			in := tg("web")
			in.HealthCheckIntervalSeconds, in.HealthCheckTimeoutSeconds = aws.Int32(5), aws.Int32(5)
			return in
		}(), "ValidationError"},
		{"a threshold of 11", func() *elbv2.CreateTargetGroupInput {
			in := tg("web")
			in.HealthyThresholdCount = aws.Int32(11)
			return in
		}(), "ValidationError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CreateTargetGroup(ctx, tc.in)
			code(t, err, tc.code)
		})
	}
	all, err := c.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{})
	if err != nil || len(all.TargetGroups) != 0 {
		t.Fatalf("left: %+v, %v", all, err)
	}
}

func TestATargetGroupMadeTwiceIsOneAndAnotherWithTheNameIsRefused(t *testing.T) {
	c, _ := client(t)
	a, err := c.CreateTargetGroup(ctx, tg("web"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.CreateTargetGroup(ctx, tg("web"))
	if err != nil || aws.ToString(b.TargetGroups[0].TargetGroupArn) != aws.ToString(a.TargetGroups[0].TargetGroupArn) {
		t.Fatalf("the same again: %+v, %v", b, err)
	}
	other := tg("web")
	other.Port = aws.Int32(9090)
	_, err = c.CreateTargetGroup(ctx, other)
	code(t, err, "DuplicateTargetGroupName")
	_, err = c.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{"nope"}})
	code(t, err, "TargetGroupNotFound")
}

func TestAListenerForwardsToOneTargetGroupAndRebindsItsGroups(t *testing.T) {
	c, rt := client(t)
	made, err := c.CreateTargetGroup(ctx, tg("web"))
	if err != nil {
		t.Fatal(err)
	}
	tgARN := made.TargetGroups[0].TargetGroupArn
	lb, err := c.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("web-lb")})
	if err != nil {
		t.Fatal(err)
	}
	lbARN := lb.LoadBalancers[0].LoadBalancerArn
	// The first free address: 127.0.1.1 unless something on the machine
	// (a test on real VMs beside) listens there.
	if dns := aws.ToString(lb.LoadBalancers[0].DNSName); !strings.HasPrefix(dns, "127.0.1.") {
		t.Fatalf("DNSName %q, want an address of 127.0.1.0/24", dns)
	}
	forward := []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: tgARN}}
	l, err := c.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lbARN, Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), DefaultActions: forward})
	if err != nil {
		t.Fatal(err)
	}
	if len(rt.rebound) != 1 || rt.rebound[0] != "web" {
		t.Fatalf("groups rebound: %v", rt.rebound)
	}
	_, err = c.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lbARN, Protocol: types.ProtocolEnumHttp, Port: aws.Int32(8080), DefaultActions: forward})
	code(t, err, "TooManyListeners")
	_, err = c.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lbARN, Protocol: types.ProtocolEnumHttps, Port: aws.Int32(443), DefaultActions: forward})
	code(t, err, "ValidationError")
	_, err = c.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: tgARN})
	code(t, err, "ResourceInUse")
	ls, err := c.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: lbARN})
	if err != nil || len(ls.Listeners) != 1 || aws.ToInt32(ls.Listeners[0].Port) != 80 {
		t.Fatalf("listeners %+v, %v", ls, err)
	}
	if _, err := c.DeleteListener(ctx, &elbv2.DeleteListenerInput{ListenerArn: l.Listeners[0].ListenerArn}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: tgARN}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{"nope"}})
	code(t, err, "LoadBalancerNotFound")
}

// Every home gives its load balancers addresses of 127.0.1.0/24: one is
// never given an address something on the machine listens on (another
// home's load balancer), so that its port 80 is free there.
func TestALoadBalancerIsNotGivenAnAddressSomethingListensOn(t *testing.T) {
	c, _ := client(t)
	ctx := context.Background()
	taken, err := net.Listen("tcp", "127.0.1.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	lb, err := c.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("other-lb")})
	if err != nil {
		t.Fatal(err)
	}
	if dns := aws.ToString(lb.LoadBalancers[0].DNSName); dns == "127.0.1.1" || !strings.HasPrefix(dns, "127.0.1.") {
		t.Fatalf("DNSName %s; want an address of 127.0.1.0/24 other than 127.0.1.1, where something listens", dns)
	}
}
