package cloudwatchapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
	"github.com/fxamacker/cbor/v2"
)

func TestBadRequestsAreRefusedWithCloudWatchsCodesInEveryProtocol(t *testing.T) {
	f := newFixture(t)
	gms := func(change func(*sdk.GetMetricStatisticsInput)) *sdk.GetMetricStatisticsInput {
		in := &sdk.GetMetricStatisticsInput{Namespace: aws.String("AWS/EC2"), MetricName: aws.String("CPUUtilization"),
			Dimensions: dim("InstanceId", "i-aaa"), StartTime: aws.Time(at(0, 0)), EndTime: aws.Time(at(2, 0)), Period: aws.Int32(60),
			Statistics: []types.Statistic{types.StatisticAverage}}
		change(in)
		return in
	}
	gmd := func(q types.MetricDataQuery) *sdk.GetMetricDataInput {
		return &sdk.GetMetricDataInput{MetricDataQueries: []types.MetricDataQuery{q}, StartTime: aws.Time(at(0, 0)), EndTime: aws.Time(at(2, 0))}
	}
	cpu := stat("cpu", "AWS/EC2", "CPUUtilization", dim("InstanceId", "i-aaa"), 60, "Average")
	with := func(change func(*types.MetricDataQuery)) types.MetricDataQuery {
		q := cpu
		ms := *q.MetricStat
		q.MetricStat = &ms
		change(&q)
		return q
	}
	f.eachProtocol(t, func(t *testing.T, c *sdk.Client, protocol string) {
		for _, tc := range []struct {
			name, code, says string
			call             func() error
		}{
			{"no statistic", "InvalidParameterCombination", "Statistics and ExtendedStatistics", func() error {
				_, err := c.GetMetricStatistics(t.Context(), gms(func(in *sdk.GetMetricStatisticsInput) { in.Statistics = nil }))
				return err
			}},
			{"a statistic AWS does not have", "InvalidParameterValue", "Statistics.member.1", func() error {
				_, err := c.GetMetricStatistics(t.Context(), gms(func(in *sdk.GetMetricStatisticsInput) { in.Statistics = []types.Statistic{"Median"} }))
				return err
			}},
			{"an extended statistic vmfleet does not compute", "InvalidParameterValue", "tm99", func() error {
				_, err := c.GetMetricStatistics(t.Context(), gms(func(in *sdk.GetMetricStatisticsInput) { in.ExtendedStatistics = []string{"tm99"} }))
				return err
			}},
			{"a period of 7 s", "InvalidParameterValue", "Period", func() error {
				_, err := c.GetMetricStatistics(t.Context(), gms(func(in *sdk.GetMetricStatisticsInput) { in.Period = aws.Int32(7) }))
				return err
			}},
			{"a start after the end", "InvalidParameterValue", "StartTime", func() error {
				_, err := c.GetMetricStatistics(t.Context(), gms(func(in *sdk.GetMetricStatisticsInput) { in.StartTime, in.EndTime = in.EndTime, in.StartTime }))
				return err
			}},
			{"more than 1440 datapoints", "InvalidParameterCombination", "exceeds the limit of 1440", func() error {
				_, err := c.GetMetricStatistics(t.Context(), gms(func(in *sdk.GetMetricStatisticsInput) {
					in.Period, in.EndTime = aws.Int32(1), aws.Time(at(30, 0))
				}))
				return err
			}},
			{"an expression", "ValidationError", "Expression", func() error {
				_, err := c.GetMetricData(t.Context(), gmd(types.MetricDataQuery{Id: aws.String("twice"), Expression: aws.String("cpu * 2")}))
				return err
			}},
			{"a stat AWS does not have", "ValidationError", "MetricStat.Stat", func() error {
				_, err := c.GetMetricData(t.Context(), gmd(with(func(q *types.MetricDataQuery) { q.MetricStat.Stat = aws.String("Median") })))
				return err
			}},
			{"an id in capitals", "ValidationError", "Id", func() error {
				_, err := c.GetMetricData(t.Context(), gmd(with(func(q *types.MetricDataQuery) { q.Id = aws.String("CPU") })))
				return err
			}},
			{"a period of 45 s", "ValidationError", "Period", func() error {
				_, err := c.GetMetricData(t.Context(), gmd(with(func(q *types.MetricDataQuery) { q.MetricStat.Period = aws.Int32(45) })))
				return err
			}},
			{"recently active in another period", "InvalidParameterValue", "PT3H", func() error {
				_, err := c.ListMetrics(t.Context(), &sdk.ListMetricsInput{RecentlyActive: "PT1H"})
				return err
			}},
		} {
			err := tc.call()
			var ae smithy.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("%s: %v, want AWS's error %s", tc.name, err, tc.code)
			}
			// The SDK makes a modeled error its error type in every
			// protocol; in the others than query the type's code is
			// the query code, from x-amzn-query-error, and in query
			// (its own quirk) the type's name.
			modeled := modeledTypes[tc.code]
			if code := ae.ErrorCode(); code != tc.code && !(protocol == queryProtocol && code == modeled) {
				t.Errorf("%s: code %s, want %s", tc.name, code, tc.code)
			}
			if modeled != "" && !strings.HasSuffix(fmt.Sprintf("%T", ae), "."+modeled) {
				t.Errorf("%s: the SDK made a %T, not its %s", tc.name, ae, modeled)
			}
			var re *awshttp.ResponseError
			if ae.ErrorFault() != smithy.FaultClient || !strings.Contains(ae.ErrorMessage(), tc.says) {
				t.Errorf("%s: fault %v, message %q; want the client's fault, saying %q", tc.name, ae.ErrorFault(), ae.ErrorMessage(), tc.says)
			}
			if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusBadRequest {
				t.Errorf("%s: %v, want a 400", tc.name, err)
			}
		}
	})
}

// modeledTypes are the error shapes CloudWatch's model declares for the
// codes, of which the SDK makes its error types.
var modeledTypes = map[string]string{
	"InvalidParameterCombination": "InvalidParameterCombinationException",
	"InvalidParameterValue":       "InvalidParameterValueException",
	"MissingParameter":            "MissingRequiredParameterException",
	"ValidationError":             "ValidationException",
}

// signed is a request signed with the fixture's key, as a client makes it.
func signed(t *testing.T, method, url string, header http.Header, body []byte) *http.Response {
	t.Helper()
	r, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header = header
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), "monitoring", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestAMissingParameterIsMissingParameterInEachWireFormat sends what the
// SDK and the CLI would refuse to send: a request without its StartTime.
// CloudWatch answers MissingParameter, in each protocol's own error shape,
// with the query code in x-amzn-query-error where the protocol is not
// the query protocol.
func TestAMissingParameterIsMissingParameterInEachWireFormat(t *testing.T) {
	f := newFixture(t)
	in := map[string]any{"Namespace": "AWS/EC2", "MetricName": "CPUUtilization", "EndTime": at(2, 0).Unix(), "Period": 60, "Statistics": []string{"Average"}}
	const wantType, wantMessage = "com.amazonaws.cloudwatch#MissingRequiredParameterException", "The parameter StartTime is required."
	checkHeaders := func(t *testing.T, resp *http.Response, contentType string) {
		t.Helper()
		if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != contentType || resp.Header.Get("x-amzn-query-error") != "MissingParameter;Sender" {
			t.Errorf("%d, %s, x-amzn-query-error %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("x-amzn-query-error"))
		}
	}
	t.Run("json-1.0", func(t *testing.T) {
		body, _ := json.Marshal(in)
		resp := signed(t, "POST", f.url+"/", http.Header{"Content-Type": {"application/x-amz-json-1.0"},
			"X-Amz-Target": {"GraniteServiceVersion20100801.GetMetricStatistics"}}, body)
		checkHeaders(t, resp, "application/x-amz-json-1.0")
		var e struct{ Type, Message string }
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(bytes.ReplaceAll(b, []byte("__type"), []byte("Type")), &e); err != nil || e.Type != wantType || e.Message != wantMessage ||
			resp.Header.Get("X-Amzn-ErrorType") != wantType {
			t.Errorf("%s (X-Amzn-ErrorType %q), %v", b, resp.Header.Get("X-Amzn-ErrorType"), err)
		}
	})
	t.Run("rpc-v2-cbor", func(t *testing.T) {
		body, err := cbor.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		resp := signed(t, "POST", f.url+"/service/GraniteServiceVersion20100801/operation/GetMetricStatistics",
			http.Header{"Content-Type": {"application/cbor"}, "Smithy-Protocol": {"rpc-v2-cbor"}}, body)
		checkHeaders(t, resp, "application/cbor")
		var e map[string]string
		b, _ := io.ReadAll(resp.Body)
		if err := cbor.Unmarshal(b, &e); err != nil || e["__type"] != wantType || e["message"] != wantMessage || resp.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" {
			t.Errorf("%v, %v (Smithy-Protocol %q)", e, err, resp.Header.Get("Smithy-Protocol"))
		}
	})
	t.Run("query", func(t *testing.T) {
		form := url.Values{"Action": {"GetMetricStatistics"}, "Version": {"2010-08-01"}, "Namespace": {"AWS/EC2"}, "MetricName": {"CPUUtilization"},
			"EndTime": {"2026-12-01T12:02:00Z"}, "Period": {"60"}, "Statistics.member.1": {"Average"}}
		resp := signed(t, "POST", f.url+"/", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, []byte(form.Encode()))
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 400 || !bytes.Contains(b, []byte("<Type>Sender</Type><Code>MissingParameter</Code><Message>"+wantMessage+"</Message>")) {
			t.Errorf("%d %s", resp.StatusCode, b)
		}
	})
}
