package cloudwatchapi

import (
	"context"
	"fmt"
	"strings"

	"github.com/vmfleet/vmfleet/pkg/awswire/cloudwatch"
)

// maxDatapoints is the most datapoints GetMetricStatistics answers with.
const maxDatapoints = 1440

func (c *CloudWatch) getMetricStatistics(ctx context.Context, in *cloudwatch.GetMetricStatisticsInput) (*cloudwatch.GetMetricStatisticsOutput, error) {
	stats, err := checkStatistics(in)
	if err != nil {
		return nil, err
	}
	if !validPeriod(in.Period, 1, 5, 10, 30) {
		return nil, fault(cloudwatch.ErrCodeInvalidParameterValueException,
			"The parameter Period must be a multiple of 60, or 1, 5, 10 or 30 for a high-resolution period; %d is neither.", in.Period)
	}
	if !in.StartTime.Before(in.EndTime) {
		return nil, fault(cloudwatch.ErrCodeInvalidParameterValueException, "The parameter StartTime must be less than the parameter EndTime.")
	}
	if len(in.Dimensions) > 30 {
		return nil, fault(cloudwatch.ErrCodeInvalidParameterValueException, "The collection Dimensions must not have a size greater than 30.")
	}
	w := newWindow(in.StartTime, in.EndTime, in.Period)
	if n := w.periods(); n > maxDatapoints {
		return nil, fault(cloudwatch.ErrCodeInvalidParameterCombinationException,
			"You have requested up to %d datapoints, which exceeds the limit of %d. You may reduce the datapoints requested by increasing Period, or decreasing the time range.", n, maxDatapoints)
	}
	groups, err := c.Source.Groups(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the groups for GetMetricStatistics: %w", err)
	}
	out := &cloudwatch.GetMetricStatisticsOutput{Label: new(in.MetricName), Datapoints: []cloudwatch.Datapoint{}}
	s := find(c.streams(groups), in.Namespace, in.MetricName, in.Dimensions)
	if s == nil || (in.Unit != nil && *in.Unit != s.unit) {
		// AWS answers a metric it has no data of with no datapoints.
		return out, nil
	}
	for _, p := range w.read(s) {
		d := cloudwatch.Datapoint{Timestamp: new(p.start), Unit: new(s.unit)}
		for _, st := range stats {
			v := st.of(p.values)
			switch st.name {
			case "Average":
				d.Average = &v
			case "Sum":
				d.Sum = &v
			case "Minimum":
				d.Minimum = &v
			case "Maximum":
				d.Maximum = &v
			case "SampleCount":
				d.SampleCount = &v
			default:
				if d.ExtendedStatistics == nil {
					d.ExtendedStatistics = map[string]float64{}
				}
				d.ExtendedStatistics[st.name] = v
			}
		}
		out.Datapoints = append(out.Datapoints, d)
	}
	return out, nil
}

// checkStatistics reads the statistics asked for, refused as AWS
// refuses them.
func checkStatistics(in *cloudwatch.GetMetricStatisticsInput) ([]statistic, error) {
	if len(in.Statistics) == 0 && len(in.ExtendedStatistics) == 0 {
		return nil, fault(cloudwatch.ErrCodeInvalidParameterCombinationException,
			"At least one of the parameters Statistics and ExtendedStatistics must be specified.")
	}
	if len(in.Statistics) > 5 || len(in.ExtendedStatistics) > 10 {
		return nil, fault(cloudwatch.ErrCodeInvalidParameterValueException,
			"At most 5 Statistics and 10 ExtendedStatistics may be asked for at once.")
	}
	var out []statistic
	for i, name := range in.Statistics {
		st, ok := parseStatistic(name)
		if !ok || st.isPercentile() {
			return nil, fault(cloudwatch.ErrCodeInvalidParameterValueException,
				"The parameter Statistics.member.%d must be a value in the set [ %s ].", i+1, strings.Join(statisticNames, ", "))
		}
		out = append(out, st)
	}
	for i, name := range in.ExtendedStatistics {
		st, ok := parseStatistic(name)
		if !ok || !st.isPercentile() {
			return nil, fault(cloudwatch.ErrCodeInvalidParameterValueException,
				"The parameter ExtendedStatistics.member.%d (%s) must be a percentile, p0 to p100 (p99, p99.9): vmfleet computes no other extended statistic.", i+1, name)
		}
		out = append(out, st)
	}
	return out, nil
}
