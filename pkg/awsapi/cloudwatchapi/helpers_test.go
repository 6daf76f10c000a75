package cloudwatchapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awsapi/cloudwatchapi"
	"github.com/vmfleet/vmfleet/pkg/awsauth"
	"github.com/vmfleet/vmfleet/pkg/awswire/awswiretest"
)

// t0 is the start of the fake history: two minutes, 12:00 to 12:02.
var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// The fake's dimension values, as elbv2api's ARNs end.
const (
	webTG = "targetgroup/web-tg/0123456789abcdef"
	webLB = "app/web-lb/fedcba9876543210"
)

// fake is a metrics source with known values: the group web (web/web)
// of i-aaa and i-bbb behind web-tg and web-lb, and the group shop-batch
// (shop/batch) of i-ccc with no balancer. Over the two minutes:
//
//	i-aaa: cpu 10 then 30 (% of cap), 1000 B/s in, 100 B/s out
//	i-bbb: cpu 20 then 50, but no sample at 12:01:30; 500 B/s in, 50 out
//	i-ccc: cpu 70
//	web/web: 2 in service, 4 new connections a second
//
// So, for web and a period of 60 s: CPUUtilization averages 15 then
// (30*60+50*59)/119, from 120 then 119 samples; NetworkIn sums to 90000
// a minute; RequestCountPerTarget to 120; HealthyHostCount averages 2.
type fake struct {
	groups []cloudwatchapi.Group
	points map[[2]string][]api.Point
}

func newFake() *fake {
	f := &fake{
		groups: []cloudwatchapi.Group{
			{Name: "web", Entity: "web/web", Instances: []string{"i-aaa", "i-bbb"}, TargetGroup: webTG, LoadBalancer: webLB},
			{Name: "shop-batch", Entity: "shop/batch", Instances: []string{"i-ccc"}},
		},
		points: map[[2]string][]api.Point{},
	}
	for s := range 120 {
		at := t0.Add(time.Duration(s) * time.Second)
		minute := s / 60
		f.put("i-aaa", "cpu_percent", at, []float64{10, 30}[minute])
		if s != 90 {
			f.put("i-bbb", "cpu_percent", at, []float64{20, 50}[minute])
		}
		f.put("i-ccc", "cpu_percent", at, 70)
		f.put("i-aaa", "net_rx_rate", at, 1000)
		f.put("i-bbb", "net_rx_rate", at, 500)
		f.put("i-aaa", "net_tx_rate", at, 100)
		f.put("i-bbb", "net_tx_rate", at, 50)
		f.put("web/web", "in_service", at, 2)
		f.put("web/web", "conn_rate", at, 4)
	}
	return f
}

func (f *fake) put(entity, metric string, at time.Time, v float64) {
	k := [2]string{entity, metric}
	f.points[k] = append(f.points[k], api.Point{Time: at, Value: v})
}

func (f *fake) Groups(context.Context) ([]cloudwatchapi.Group, error) { return f.groups, nil }

func (f *fake) Points(entity, metric string, from, to time.Time) []api.Point {
	var out []api.Point
	for _, p := range f.points[[2]string{entity, metric}] {
		if !p.Time.Before(from) && p.Time.Before(to) {
			out = append(out, p)
		}
	}
	return out
}

// key is the key requests are signed with: every test's request has its
// signature checked.
var key = awsauth.Credentials{AccessKeyID: "AKIACLOUDWATCH000000", SecretAccessKey: "cloudwatch-secret-0123456789"}

// fixture is CloudWatch over the fake, behind the endpoint, with the
// content type of each request it was sent.
type fixture struct {
	url string
	mu  sync.Mutex
	ct  []string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{}
	cw := &cloudwatchapi.CloudWatch{Source: newFake()}
	ep := awsapi.New(&awsauth.Verifier{Credentials: key, Region: "us-east-1"}, nil, cw.Service())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.ct = append(f.ct, r.Header.Get("Content-Type"))
		f.mu.Unlock()
		ep.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// sent is the content type of every request so far.
func (f *fixture) sent() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ct...)
}

const queryProtocol = "query"

// protocols are the Go SDK's three ways of asking CloudWatch, and the
// content type each sends.
var protocols = []struct {
	name, contentType string
	opt               func(*sdk.Options)
}{
	{"rpc-v2-cbor (the SDK's default)", "application/cbor", func(*sdk.Options) {}},
	{"json-1.0", "application/x-amz-json-1.0", func(o *sdk.Options) { o.Protocol = awsjson.New10(schemas.GraniteServiceVersion20100801) }},
	{queryProtocol, "application/x-www-form-urlencoded", func(o *sdk.Options) { o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801) }},
}

// client is an SDK client of the fixture in one protocol.
func (f *fixture) client(opt func(*sdk.Options)) *sdk.Client {
	return sdk.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(f.url), Retryer: awswiretest.Retryer,
		Credentials: credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, "")}, opt)
}

// eachProtocol runs test with a client of each protocol, and checks the
// client spoke it: a client that fell back to another would prove
// nothing of this one.
func (f *fixture) eachProtocol(t *testing.T, test func(t *testing.T, c *sdk.Client, protocol string)) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			before := len(f.sent())
			test(t, f.client(p.opt), p.name)
			sent := f.sent()[before:]
			if len(sent) == 0 {
				t.Fatal("no request was sent")
			}
			for _, ct := range sent {
				if ct != p.contentType && ct != p.contentType+"; charset=utf-8" {
					t.Errorf("a request was sent as %q, want %q", ct, p.contentType)
				}
			}
		})
	}
}

// wantCode fails unless err is AWS's error with code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("got %v, want the error %s", err, code)
	}
}

func at(minutes, seconds int) time.Time {
	return t0.Add(time.Duration(minutes)*time.Minute + time.Duration(seconds)*time.Second)
}
