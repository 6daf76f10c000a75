package cloudwatch_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkcloudwatch "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/vmfleet/vmfleet/pkg/awswire/awswiretest"
	"github.com/vmfleet/vmfleet/pkg/awswire/cloudwatch"
)

var (
	start = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	end   = start.Add(time.Hour)
)

// cpuQuery is the GetMetricData input both the SDK test and the
// hand-made parameters test expect to decode.
func cpuQuery() *cloudwatch.GetMetricDataInput {
	ptr := awswiretest.Ptr[string]
	return &cloudwatch.GetMetricDataInput{
		MetricDataQueries: []cloudwatch.MetricDataQuery{
			{
				Id: "cpu",
				MetricStat: &cloudwatch.MetricStat{
					Metric: &cloudwatch.Metric{
						Namespace:  ptr("AWS/EC2"),
						MetricName: ptr("CPUUtilization"),
						Dimensions: []cloudwatch.Dimension{{Name: "AutoScalingGroupName", Value: "web"}},
					},
					Period: 60,
					Stat:   "Average",
				},
				ReturnData: awswiretest.Ptr(false),
			},
			{Id: "cpu2", Expression: ptr("cpu * 2"), Label: ptr("doubled")},
		},
		StartTime:     start,
		EndTime:       end,
		MaxDatapoints: awswiretest.Ptr[int32](100),
	}
}

// TestGetMetricDataWithTheSDKOverQuery has the Go SDK speak the query
// protocol, which CloudWatch still serves but the SDK no longer sends by
// default (see TestWhatCloudWatchClientsSendByDefault): the protocol is
// swapped on the client for this test.
func TestGetMetricDataWithTheSDKOverQuery(t *testing.T) {
	ptr := awswiretest.Ptr[string]
	c := awswiretest.Client(t, awswiretest.Answer(t, cloudwatch.DecodeGetMetricDataInput, cloudwatch.EncodeGetMetricDataResponse,
		func(_ url.Values, in *cloudwatch.GetMetricDataInput) *cloudwatch.GetMetricDataOutput {
			awswiretest.Equal(t, "decoded input", in, cpuQuery())
			return &cloudwatch.GetMetricDataOutput{MetricDataResults: []cloudwatch.MetricDataResult{
				{
					Id: ptr("cpu2"), Label: ptr("doubled"), StatusCode: ptr("Complete"),
					Timestamps: []time.Time{start.Add(2 * time.Minute), start.Add(time.Minute)},
					Values:     []float64{12.5, 0.25},
				},
				{Id: ptr("empty"), StatusCode: ptr("Complete"), Timestamps: []time.Time{}, Values: []float64{}},
			}}
		}), sdkcloudwatch.NewFromConfig, func(o *sdkcloudwatch.Options) {
		o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
	})
	got, err := c.GetMetricData(t.Context(), &sdkcloudwatch.GetMetricDataInput{
		MetricDataQueries: []cwtypes.MetricDataQuery{
			{
				Id: aws.String("cpu"),
				MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{
						Namespace:  aws.String("AWS/EC2"),
						MetricName: aws.String("CPUUtilization"),
						Dimensions: []cwtypes.Dimension{{Name: aws.String("AutoScalingGroupName"), Value: aws.String("web")}},
					},
					Period: aws.Int32(60),
					Stat:   aws.String("Average"),
				},
				ReturnData: aws.Bool(false),
			},
			{Id: aws.String("cpu2"), Expression: aws.String("cpu * 2"), Label: aws.String("doubled")},
		},
		StartTime:     aws.Time(start),
		EndTime:       aws.Time(end),
		MaxDatapoints: aws.Int32(100),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.MetricDataResults) != 2 {
		t.Fatalf("got %d results, want 2", len(got.MetricDataResults))
	}
	r := got.MetricDataResults[0]
	if aws.ToString(r.Id) != "cpu2" || r.StatusCode != cwtypes.StatusCodeComplete || len(r.Timestamps) != 2 ||
		!r.Timestamps[0].Equal(start.Add(2*time.Minute)) || !r.Timestamps[1].Equal(start.Add(time.Minute)) ||
		len(r.Values) != 2 || r.Values[0] != 12.5 || r.Values[1] != 0.25 {
		t.Errorf("first result: %+v", r)
	}
	if e := got.MetricDataResults[1]; aws.ToString(e.Id) != "empty" || len(e.Timestamps) != 0 || len(e.Values) != 0 {
		t.Errorf("empty result: %+v", e)
	}
}

// TestGetMetricDataFromQueryParameters decodes what botocore's query
// serialiser writes for the same call (whole-second timestamps with Z,
// "member" list items, booleans as false), written out by hand since
// botocore itself now sends JSON to CloudWatch.
func TestGetMetricDataFromQueryParameters(t *testing.T) {
	in, err := cloudwatch.DecodeGetMetricDataInput(url.Values{
		"Action":                        {"GetMetricData"},
		"Version":                       {"2010-08-01"},
		"MetricDataQueries.member.1.Id": {"cpu"},
		"MetricDataQueries.member.1.MetricStat.Metric.Namespace":                 {"AWS/EC2"},
		"MetricDataQueries.member.1.MetricStat.Metric.MetricName":                {"CPUUtilization"},
		"MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name":  {"AutoScalingGroupName"},
		"MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Value": {"web"},
		"MetricDataQueries.member.1.MetricStat.Period":                           {"60"},
		"MetricDataQueries.member.1.MetricStat.Stat":                             {"Average"},
		"MetricDataQueries.member.1.ReturnData":                                  {"false"},
		"MetricDataQueries.member.2.Id":                                          {"cpu2"},
		"MetricDataQueries.member.2.Expression":                                  {"cpu * 2"},
		"MetricDataQueries.member.2.Label":                                       {"doubled"},
		"StartTime":                                                              {"2024-05-01T12:00:00Z"},
		"EndTime":                                                                {"2024-05-01T13:00:00Z"},
		"MaxDatapoints":                                                          {"100"},
	})
	if err != nil {
		t.Fatal(err)
	}
	awswiretest.Equal(t, "decoded input", in, cpuQuery())
}
