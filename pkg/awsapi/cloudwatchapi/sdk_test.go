package cloudwatchapi_test

import (
	"math"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestGetMetricStatisticsOfAGroupAggregatesItsInstancesInEveryProtocol(t *testing.T) {
	f := newFixture(t)
	f.eachProtocol(t, func(t *testing.T, c *sdk.Client, _ string) {
		out, err := c.GetMetricStatistics(t.Context(), &sdk.GetMetricStatisticsInput{
			Namespace: aws.String("AWS/EC2"), MetricName: aws.String("CPUUtilization"),
			Dimensions: []types.Dimension{{Name: aws.String("AutoScalingGroupName"), Value: aws.String("web")}},
			StartTime:  aws.Time(at(0, 0)), EndTime: aws.Time(at(2, 0)), Period: aws.Int32(60),
			Statistics:         []types.Statistic{types.StatisticAverage, types.StatisticMaximum, types.StatisticMinimum, types.StatisticSampleCount},
			ExtendedStatistics: []string{"p90"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.Label) != "CPUUtilization" || len(out.Datapoints) != 2 {
			t.Fatalf("label %q, %d datapoints, want CPUUtilization and 2", aws.ToString(out.Label), len(out.Datapoints))
		}
		want := []struct {
			at                        time.Time
			avg, max, min, count, p90 float64
		}{
			{at(0, 0), 15, 20, 10, 120, 20},
			{at(1, 0), (30*60 + 50*59) / 119.0, 50, 30, 119, 50}, // i-bbb missed a second
		}
		for i, w := range want {
			d := out.Datapoints[i]
			if !aws.ToTime(d.Timestamp).Equal(w.at) || !near(aws.ToFloat64(d.Average), w.avg) || aws.ToFloat64(d.Maximum) != w.max ||
				aws.ToFloat64(d.Minimum) != w.min || aws.ToFloat64(d.SampleCount) != w.count || d.ExtendedStatistics["p90"] != w.p90 ||
				d.Unit != types.StandardUnitPercent || d.Sum != nil {
				t.Errorf("datapoint %d: %s avg %v max %v min %v n %v p90 %v sum %v unit %s, want %+v", i, aws.ToTime(d.Timestamp),
					aws.ToFloat64(d.Average), aws.ToFloat64(d.Maximum), aws.ToFloat64(d.Minimum), aws.ToFloat64(d.SampleCount),
					d.ExtendedStatistics, d.Sum, d.Unit, w)
			}
		}
	})
}

func TestGetMetricStatisticsSumsBytesAndRequestsPerPeriod(t *testing.T) {
	f := newFixture(t)
	f.eachProtocol(t, func(t *testing.T, c *sdk.Client, _ string) {
		for _, q := range []struct {
			namespace, metric string
			dims              []types.Dimension
			period            int32
			sums              []float64
			unit              types.StandardUnit
		}{
			// 1000 + 500 bytes a second from two instances.
			{"AWS/EC2", "NetworkIn", dim("AutoScalingGroupName", "web"), 60, []float64{90000, 90000}, types.StandardUnitBytes},
			// A two-minute period takes both minutes.
			{"AWS/EC2", "NetworkOut", dim("InstanceId", "i-aaa"), 120, []float64{12000}, types.StandardUnitBytes},
			// 4 connections a second over 2 instances in service.
			{"AWS/ApplicationELB", "RequestCountPerTarget", dim("TargetGroup", webTG), 60, []float64{120, 120}, types.StandardUnitCount},
			// The dimensions in another order name the same metric.
			{"AWS/ApplicationELB", "RequestCountPerTarget", append(dim("TargetGroup", webTG), dim("LoadBalancer", webLB)...), 60, []float64{120, 120}, types.StandardUnitCount},
			// A high-resolution period.
			{"AWS/EC2", "NetworkIn", dim("InstanceId", "i-bbb"), 30, []float64{15000, 15000, 15000, 15000}, types.StandardUnitBytes},
		} {
			out, err := c.GetMetricStatistics(t.Context(), &sdk.GetMetricStatisticsInput{Namespace: aws.String(q.namespace), MetricName: aws.String(q.metric),
				Dimensions: q.dims, StartTime: aws.Time(at(0, 0)), EndTime: aws.Time(at(2, 0)), Period: aws.Int32(q.period),
				Statistics: []types.Statistic{types.StatisticSum}})
			if err != nil {
				t.Fatalf("%s: %v", q.metric, err)
			}
			var sums []float64
			for i, d := range out.Datapoints {
				if want := at(0, 0).Add(time.Duration(i) * time.Duration(q.period) * time.Second); !aws.ToTime(d.Timestamp).Equal(want) || d.Unit != q.unit {
					t.Errorf("%s datapoint %d at %s in %s, want at %s in %s", q.metric, i, aws.ToTime(d.Timestamp), d.Unit, want, q.unit)
				}
				sums = append(sums, aws.ToFloat64(d.Sum))
			}
			if !equal(sums, q.sums) {
				t.Errorf("%s %v: sums %v, want %v", q.metric, q.dims, sums, q.sums)
			}
		}
	})
}

func TestAMetricThereIsNoneOfHasNoDatapointsRatherThanAnError(t *testing.T) {
	f := newFixture(t)
	f.eachProtocol(t, func(t *testing.T, c *sdk.Client, _ string) {
		for _, in := range []*sdk.GetMetricStatisticsInput{
			{Namespace: aws.String("AWS/Lambda"), MetricName: aws.String("Invocations")},
			{Namespace: aws.String("AWS/EC2"), MetricName: aws.String("CPUUtilization"), Dimensions: dim("InstanceId", "i-gone")},
			// All of a metric's dimensions must be named, as in AWS.
			{Namespace: aws.String("AWS/EC2"), MetricName: aws.String("CPUUtilization")},
			// Another unit than the metric's.
			{Namespace: aws.String("AWS/EC2"), MetricName: aws.String("CPUUtilization"), Dimensions: dim("InstanceId", "i-aaa"), Unit: types.StandardUnitBytes},
			// Before the history.
			{Namespace: aws.String("AWS/EC2"), MetricName: aws.String("CPUUtilization"), Dimensions: dim("InstanceId", "i-aaa"),
				StartTime: aws.Time(at(-60, 0)), EndTime: aws.Time(at(0, 0))},
		} {
			if in.StartTime == nil {
				in.StartTime, in.EndTime = aws.Time(at(0, 0)), aws.Time(at(2, 0))
			}
			in.Period, in.Statistics = aws.Int32(60), []types.Statistic{types.StatisticAverage}
			out, err := c.GetMetricStatistics(t.Context(), in)
			if err != nil || out.Datapoints == nil || len(out.Datapoints) != 0 {
				t.Errorf("%s %s %v: %+v, %v; want an empty list of datapoints", aws.ToString(in.Namespace), aws.ToString(in.MetricName), in.Dimensions, out, err)
			}
		}
	})
}

func TestGetMetricDataAnswersEachQueryInScanOrder(t *testing.T) {
	f := newFixture(t)
	f.eachProtocol(t, func(t *testing.T, c *sdk.Client, _ string) {
		queries := []types.MetricDataQuery{
			stat("cpu", "AWS/EC2", "CPUUtilization", dim("InstanceId", "i-ccc"), 60, "Maximum"),
			stat("net", "AWS/EC2", "NetworkIn", dim("AutoScalingGroupName", "web"), 60, "Sum"),
			stat("healthy", "AWS/ApplicationELB", "HealthyHostCount", append(dim("LoadBalancer", webLB), dim("TargetGroup", webTG)...), 60, "Average"),
			stat("hidden", "AWS/EC2", "CPUUtilization", dim("InstanceId", "i-aaa"), 60, "Average"),
			stat("nothing", "AWS/EC2", "CPUUtilization", dim("InstanceId", "i-gone"), 60, "Average"),
		}
		queries[0].Label = aws.String("batch cpu")
		queries[3].ReturnData = aws.Bool(false)
		for _, scan := range []types.ScanBy{"", types.ScanByTimestampAscending} {
			out, err := c.GetMetricData(t.Context(), &sdk.GetMetricDataInput{MetricDataQueries: queries,
				StartTime: aws.Time(at(0, 0)), EndTime: aws.Time(at(2, 0)), ScanBy: scan})
			if err != nil {
				t.Fatal(err)
			}
			first, second := at(1, 0), at(0, 0) // newest first, unless asked otherwise
			if scan == types.ScanByTimestampAscending {
				first, second = second, first
			}
			want := map[string]struct {
				label  string
				times  []time.Time
				values []float64
			}{
				"cpu":     {"batch cpu", []time.Time{first, second}, []float64{70, 70}},
				"net":     {"NetworkIn", []time.Time{first, second}, []float64{90000, 90000}},
				"healthy": {"HealthyHostCount", []time.Time{first, second}, []float64{2, 2}},
				"nothing": {"CPUUtilization", nil, nil},
			}
			if len(out.MetricDataResults) != len(want) || out.NextToken != nil {
				t.Fatalf("scan %q: %d results, next token %v; want %d and none", scan, len(out.MetricDataResults), out.NextToken, len(want))
			}
			for _, r := range out.MetricDataResults {
				w, ok := want[aws.ToString(r.Id)]
				if !ok || aws.ToString(r.Label) != w.label || r.StatusCode != types.StatusCodeComplete || !equal(r.Values, w.values) || !sameTimes(r.Timestamps, w.times) {
					t.Errorf("scan %q: %s labelled %q (%s): %v at %v; want %+v", scan, aws.ToString(r.Id), aws.ToString(r.Label), r.StatusCode, r.Values, r.Timestamps, w)
				}
			}
		}
	})
}

func TestGetMetricDataCutsPagesOfMaxDatapoints(t *testing.T) {
	f := newFixture(t)
	f.eachProtocol(t, func(t *testing.T, c *sdk.Client, _ string) {
		in := &sdk.GetMetricDataInput{MetricDataQueries: []types.MetricDataQuery{
			stat("a", "AWS/EC2", "CPUUtilization", dim("InstanceId", "i-aaa"), 60, "Average"),
			stat("b", "AWS/EC2", "CPUUtilization", dim("InstanceId", "i-bbb"), 60, "Average"),
		}, StartTime: aws.Time(at(0, 0)), EndTime: aws.Time(at(2, 0)), MaxDatapoints: aws.Int32(3), ScanBy: types.ScanByTimestampAscending}
		got := map[string][]float64{}
		var pages int
		for {
			out, err := c.GetMetricData(t.Context(), in)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			var n int
			for _, r := range out.MetricDataResults {
				got[aws.ToString(r.Id)] = append(got[aws.ToString(r.Id)], r.Values...)
				n += len(r.Values)
				if more := out.NextToken != nil && aws.ToString(r.Id) == "b"; more != (r.StatusCode == types.StatusCodePartialData) {
					t.Errorf("page %d: %s is %s", pages, aws.ToString(r.Id), r.StatusCode)
				}
			}
			if n > 3 {
				t.Errorf("page %d holds %d datapoints, more than MaxDatapoints", pages, n)
			}
			if out.NextToken == nil {
				break
			}
			in.NextToken = out.NextToken
		}
		if pages != 2 || !equal(got["a"], []float64{10, 30}) || !near(got["b"][1], 50) || len(got["b"]) != 2 {
			t.Errorf("%d pages of %v, want 2 pages of a: 10, 30 and b: 20, 50", pages, got)
		}
		in.NextToken = aws.String("not-a-token")
		_, err := c.GetMetricData(t.Context(), in)
		wantCode(t, err, "InvalidNextToken")
	})
}

func TestListMetricsFiltersByNamespaceNameAndDimensions(t *testing.T) {
	f := newFixture(t)
	f.eachProtocol(t, func(t *testing.T, c *sdk.Client, _ string) {
		for _, q := range []struct {
			in   *sdk.ListMetricsInput
			want []string
		}{
			{&sdk.ListMetricsInput{Namespace: aws.String("AWS/ApplicationELB")}, []string{
				"AWS/ApplicationELB HealthyHostCount LoadBalancer=" + webLB + ",TargetGroup=" + webTG,
				"AWS/ApplicationELB RequestCountPerTarget LoadBalancer=" + webLB + ",TargetGroup=" + webTG,
				"AWS/ApplicationELB RequestCountPerTarget TargetGroup=" + webTG,
			}},
			{&sdk.ListMetricsInput{MetricName: aws.String("CPUUtilization"), Dimensions: []types.DimensionFilter{{Name: aws.String("AutoScalingGroupName")}}}, []string{
				"AWS/EC2 CPUUtilization AutoScalingGroupName=shop-batch",
				"AWS/EC2 CPUUtilization AutoScalingGroupName=web",
			}},
			{&sdk.ListMetricsInput{Dimensions: []types.DimensionFilter{{Name: aws.String("InstanceId"), Value: aws.String("i-ccc")}}}, []string{
				"AWS/EC2 CPUUtilization InstanceId=i-ccc",
				"AWS/EC2 NetworkIn InstanceId=i-ccc",
				"AWS/EC2 NetworkOut InstanceId=i-ccc",
			}},
			{&sdk.ListMetricsInput{Namespace: aws.String("AWS/Lambda")}, nil},
		} {
			out, err := c.ListMetrics(t.Context(), q.in)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range out.Metrics {
				s := aws.ToString(m.Namespace) + " " + aws.ToString(m.MetricName) + " "
				for i, d := range m.Dimensions {
					if i > 0 {
						s += ","
					}
					s += aws.ToString(d.Name) + "=" + aws.ToString(d.Value)
				}
				got = append(got, s)
			}
			if len(got) != len(q.want) || (len(got) > 0 && !equalStrings(got, q.want)) || out.Metrics == nil {
				t.Errorf("%+v: got %q, want %q", q.in, got, q.want)
			}
		}
		all, err := c.ListMetrics(t.Context(), &sdk.ListMetricsInput{})
		// 3 EC2 metrics of 3 instances and 2 groups; 3 ELB ones.
		if err != nil || len(all.Metrics) != 3*5+3 {
			t.Errorf("all metrics: %d, %v; want 18", len(all.Metrics), err)
		}
	})
}

func dim(name, value string) []types.Dimension {
	return []types.Dimension{{Name: aws.String(name), Value: aws.String(value)}}
}

func stat(id, namespace, metric string, dims []types.Dimension, period int32, statistic string) types.MetricDataQuery {
	return types.MetricDataQuery{Id: aws.String(id), MetricStat: &types.MetricStat{
		Metric: &types.Metric{Namespace: aws.String(namespace), MetricName: aws.String(metric), Dimensions: dims},
		Period: aws.Int32(period), Stat: aws.String(statistic)}}
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !near(a[i], b[i]) {
			return false
		}
	}
	return true
}

func equalStrings(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func sameTimes(a, b []time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}
