package awsapi_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awsauth"
	cw "github.com/vmfleet/vmfleet/pkg/awswire/cloudwatch"
)

// cloudWatchStub is a service on CloudWatch's codec that speaks all three
// protocols. GetMetricStatistics answers one datapoint at the StartTime
// asked for, whose Sum is the Period and whose Maximum is not a number;
// ListMetrics an empty list.
func cloudWatchStub() *awsapi.Service {
	return &awsapi.Service{
		SigningName: cw.SigningName, Version: cw.APIVersion, Protocol: awsapi.Query,
		Operations: cw.Operations(), EncodeError: cw.EncodeError,
		Documents: &awsapi.Documents{TargetPrefix: cw.TargetPrefix, QueryCompatible: cw.QueryCompatible, ErrorType: cw.ErrorType},
		Handlers: map[string]awsapi.Handler{
			"GetMetricStatistics": awsapi.Op(func(_ context.Context, in *cw.GetMetricStatisticsInput) (*cw.GetMetricStatisticsOutput, error) {
				sum, nan := float64(in.Period), math.NaN()
				return &cw.GetMetricStatisticsOutput{Datapoints: []cw.Datapoint{{Timestamp: &in.StartTime, Sum: &sum, Maximum: &nan}}}, nil
			}),
			"ListMetrics": awsapi.Op(func(context.Context, *cw.ListMetricsInput) (*cw.ListMetricsOutput, error) {
				return &cw.ListMetricsOutput{Metrics: []cw.Metric{}}, nil
			}),
		},
	}
}

func documentEndpoint(t *testing.T) string {
	t.Helper()
	v := &awsauth.Verifier{Credentials: key, Region: "us-east-1"}
	srv := httptest.NewServer(awsapi.New(v, nil, ec2Stub(), cloudWatchStub()))
	t.Cleanup(srv.Close)
	return srv.URL
}

// call is one request, as JSON 1.0 or RPC v2 CBOR clients send it.
type call struct {
	protocol string // "json" or "cbor"
	op       string
	body     map[string]any
	raw      []byte // sent instead of body when set
	prefix   string // the target prefix, CloudWatch's unless set
	unsigned bool
	creds    *awsauth.Credentials // the home's key unless set
}

// answer is what came back: status, headers, and the body decoded.
type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (c call) send(t *testing.T, base string) answer {
	t.Helper()
	prefix := c.prefix
	if prefix == "" {
		prefix = cw.TargetPrefix
	}
	body, marshal, path := c.raw, json.Marshal, "/"
	header := http.Header{"Content-Type": {"application/x-amz-json-1.0"}, "X-Amz-Target": {prefix + "." + c.op}}
	if c.protocol == "cbor" {
		marshal, path = cbor.Marshal, "/service/"+prefix+"/operation/"+c.op
		header = http.Header{"Content-Type": {"application/cbor"}, "Smithy-Protocol": {"rpc-v2-cbor"}}
	}
	if body == nil {
		b, err := marshal(c.body)
		if err != nil {
			t.Fatal(err)
		}
		body = b
	}
	r, err := http.NewRequest("POST", base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header = header
	if !c.unsigned {
		signWith(t, r, string(body), "monitoring", c.creds)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	a.raw, _ = io.ReadAll(resp.Body)
	if c.protocol == "cbor" {
		err = cbor.Unmarshal(a.raw, &a.body)
	} else {
		err = json.Unmarshal(a.raw, &a.body)
	}
	if err != nil {
		t.Fatalf("the answer %q does not decode: %v", a.raw, err)
	}
	return a
}

func TestEachProtocolIsAnsweredInItsOwnFormat(t *testing.T) {
	base := documentEndpoint(t)
	start := map[string]any{"Namespace": "AWS/EC2", "MetricName": "CPUUtilization", "StartTime": 1796126400.5, "EndTime": 1796126460,
		"Period": 60, "Statistics": []string{"Sum"}}

	a := call{protocol: "json", op: "GetMetricStatistics", body: start}.send(t, base)
	// Timestamps as epoch seconds, the Label (nil) left out, a NaN as AWS spells it.
	const wantJSON = `{"Datapoints":[{"Maximum":"NaN","Sum":60,"Timestamp":1796126400.5}]}`
	if a.status != 200 || a.header.Get("Content-Type") != "application/x-amz-json-1.0" || string(a.raw) != wantJSON {
		t.Errorf("JSON: %d %s %s, want %s", a.status, a.header.Get("Content-Type"), a.raw, wantJSON)
	}

	a = call{protocol: "cbor", op: "GetMetricStatistics", body: start}.send(t, base)
	points, _ := a.body["Datapoints"].([]any)
	if a.status != 200 || a.header.Get("Content-Type") != "application/cbor" || a.header.Get("Smithy-Protocol") != "rpc-v2-cbor" || len(points) != 1 {
		t.Fatalf("CBOR: %d %v %v", a.status, a.header, a.body)
	}
	// Tag 1 (0xc1) holding a double (0xfb): 1796126400.5.
	if !bytes.Contains(a.raw, binary.BigEndian.AppendUint64([]byte{0xc1, 0xfb}, math.Float64bits(1796126400.5))) {
		t.Errorf("CBOR's timestamp is not epoch seconds in tag 1: % x", a.raw)
	}
	if p := points[0].(map[any]any); p["Timestamp"] != time.Unix(1796126400, 500e6) || p["Sum"] != 60.0 || !math.IsNaN(p["Maximum"].(float64)) {
		t.Errorf("CBOR's datapoint: %v", p)
	}

	for _, protocol := range []string{"json", "cbor"} {
		a = call{protocol: protocol, op: "ListMetrics", body: map[string]any{}}.send(t, base)
		if list, ok := a.body["Metrics"].([]any); a.status != 200 || !ok || len(list) != 0 {
			t.Errorf("%s: an empty list is [], not left out: %d %v", protocol, a.status, a.body)
		}
	}
	// An operation without input parameters may come with no body.
	if a = (call{protocol: "cbor", op: "ListMetrics", raw: []byte{}}).send(t, base); a.status != 200 {
		t.Errorf("CBOR without a body: %d %v", a.status, a.body)
	}

	resp, body := post(t, base, "monitoring", url.Values{"Action": {"ListMetrics"}, "Version": {cw.APIVersion}})
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/xml" || !strings.Contains(body, "<ListMetricsResponse") {
		t.Errorf("query: %d %s", resp.StatusCode, body)
	}
}

func TestJSONAndCBORRequestsAreRefusedInTheirOwnErrorShape(t *testing.T) {
	base := documentEndpoint(t)
	other := awsauth.Credentials{AccessKeyID: "AKIAOTHERKEY00000000", SecretAccessKey: "x"}
	for _, c := range []struct {
		name   string
		call   call
		status int
		code   string // the query code, in x-amzn-query-error
		typ    string // __type
		says   string
	}{
		{"an operation not served", call{op: "PutMetricData", body: map[string]any{}}, 400, "UnknownOperationException", "UnknownOperationException", "PutMetricData"},
		{"another service's target", call{op: "ListMetrics", body: map[string]any{}, prefix: "Logs_20140328"}, 400, "UnknownOperationException", "UnknownOperationException", "ListMetrics"},
		{"a body that is not the protocol's", call{op: "ListMetrics", raw: []byte("Action=ListMetrics")}, 400, "SerializationException", "SerializationException", "not"},
		{"a member of the wrong kind", call{op: "GetMetricStatistics", body: map[string]any{"Namespace": "AWS/EC2", "MetricName": "m",
			"StartTime": 1, "EndTime": 2, "Period": "sixty"}}, 400, "ValidationError", "ValidationError", "Period"},
		{"a required member missing", call{op: "GetMetricStatistics", body: map[string]any{"Namespace": "AWS/EC2", "MetricName": "m", "EndTime": 2, "Period": 60}},
			400, "ValidationError", "ValidationError", "StartTime"},
		{"another key", call{op: "ListMetrics", body: map[string]any{}, creds: &other}, 403, "InvalidClientTokenId", "InvalidClientTokenId", "security token"},
		{"no signature", call{op: "ListMetrics", body: map[string]any{}, unsigned: true}, 403, "MissingAuthenticationToken", "MissingAuthenticationToken", "Authentication Token"},
	} {
		for _, protocol := range []string{"json", "cbor"} {
			c.call.protocol = protocol
			a := c.call.send(t, base)
			typ, _ := a.body["__type"].(string)
			msg, _ := a.body["message"].(string)
			if a.status != c.status || typ != c.typ || !strings.Contains(msg, c.says) || a.header.Get("x-amzn-query-error") != c.code+";Sender" {
				t.Errorf("%s in %s: %d %s %q (x-amzn-query-error %q); want %d %s saying %q", c.name, protocol, a.status, typ, msg,
					a.header.Get("x-amzn-query-error"), c.status, c.code, c.says)
			}
			if ct := a.header.Get("Content-Type"); (protocol == "json") != (ct == "application/x-amz-json-1.0") || (protocol == "cbor") != (ct == "application/cbor") {
				t.Errorf("%s in %s: answered as %s", c.name, protocol, ct)
			}
			if protocol == "json" && a.header.Get("X-Amzn-ErrorType") != c.typ {
				t.Errorf("%s in JSON: X-Amzn-ErrorType %q", c.name, a.header.Get("X-Amzn-ErrorType"))
			}
			if protocol == "cbor" && a.header.Get("Smithy-Protocol") != "rpc-v2-cbor" {
				t.Errorf("%s in CBOR: Smithy-Protocol %q", c.name, a.header.Get("Smithy-Protocol"))
			}
		}
	}
}

func TestAModeledErrorIsTypedAfterItsShape(t *testing.T) {
	if got := cw.ErrorType(cw.ErrCodeInvalidParameterValueException); got != "com.amazonaws.cloudwatch#InvalidParameterValueException" {
		t.Errorf("InvalidParameterValue's type: %s", got)
	}
	if got := cw.ErrorType("Throttling"); got != "Throttling" {
		t.Errorf("a code the model does not declare: %s", got)
	}
}
