package cloudwatchapi

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire"
	"github.com/vmfleet/vmfleet/pkg/awswire/cloudwatch"
)

// The bounds of a GetMetricData request, AWS's.
const (
	maxQueries           = 500
	defaultMaxDatapoints = 100800
)

var queryID = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

func (c *CloudWatch) getMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput) (*cloudwatch.GetMetricDataOutput, error) {
	if err := checkQueries(in.MetricDataQueries); err != nil {
		return nil, err
	}
	if !in.StartTime.Before(in.EndTime) {
		return nil, awsapi.Validation("The parameter StartTime must be less than the parameter EndTime.")
	}
	descending := true
	switch by := awswire.Value(in.ScanBy); by {
	case "", "TimestampDescending":
	case "TimestampAscending":
		descending = false
	default:
		return nil, awsapi.Validation("The value %s for parameter ScanBy is not valid: use TimestampDescending or TimestampAscending.", by)
	}
	limit := defaultMaxDatapoints
	if in.MaxDatapoints != nil {
		if *in.MaxDatapoints < 1 {
			return nil, awsapi.Validation("The value %d for parameter MaxDatapoints is not valid: it must be at least 1.", *in.MaxDatapoints)
		}
		limit = int(*in.MaxDatapoints)
	}
	offset, err := pageOffset(in.NextToken)
	if err != nil {
		return nil, err
	}
	groups, err := c.Source.Groups(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the groups for GetMetricData: %w", err)
	}
	all := c.streams(groups)
	out := &cloudwatch.GetMetricDataOutput{MetricDataResults: []cloudwatch.MetricDataResult{}, Messages: []cloudwatch.MessageData{}}
	// The datapoints of every result, one after another, are cut into
	// pages of MaxDatapoints; seen counts them up to the current one.
	seen, end := 0, offset+limit
	for _, q := range in.MetricDataQueries {
		if q.ReturnData != nil && !*q.ReturnData {
			continue
		}
		ms := q.MetricStat
		st, _ := parseStatistic(ms.Stat)
		s := find(all, awswire.Value(ms.Metric.Namespace), awswire.Value(ms.Metric.MetricName), ms.Metric.Dimensions)
		if s != nil && ms.Unit != nil && *ms.Unit != s.unit {
			s = nil
		}
		periods := newWindow(in.StartTime, in.EndTime, ms.Period).read(s)
		if descending {
			slices.Reverse(periods)
		}
		r := cloudwatch.MetricDataResult{Id: new(q.Id), Label: new(cmp.Or(awswire.Value(q.Label), awswire.Value(ms.Metric.MetricName))),
			StatusCode: new("Complete"), Timestamps: []time.Time{}, Values: []float64{}, Messages: []cloudwatch.MessageData{}}
		for _, p := range periods {
			if seen >= offset && seen < end {
				r.Timestamps = append(r.Timestamps, p.start)
				r.Values = append(r.Values, st.of(p.values))
			}
			seen++
		}
		if len(periods) > 0 && seen > end {
			r.StatusCode = new("PartialData")
		}
		out.MetricDataResults = append(out.MetricDataResults, r)
	}
	if seen > end {
		out.NextToken = new(pageToken(end))
	}
	return out, nil
}

// checkQueries refuses what vmfleet cannot answer, or AWS would not.
func checkQueries(qs []cloudwatch.MetricDataQuery) error {
	if len(qs) == 0 || len(qs) > maxQueries {
		return awsapi.Validation("The parameter MetricDataQueries must hold 1 to %d queries; it holds %d.", maxQueries, len(qs))
	}
	ids := map[string]bool{}
	for i, q := range qs {
		param := fmt.Sprintf("MetricDataQueries.member.%d", i+1)
		switch {
		case !queryID.MatchString(q.Id):
			return awsapi.Validation("The value %s for parameter %s.Id is not valid: an id begins with a lower-case letter and holds only letters, digits and underscores.", q.Id, param)
		case ids[q.Id]:
			return awsapi.Validation("The value %s for parameter %s.Id is the id of another query: ids must be unique.", q.Id, param)
		case q.Expression != nil:
			return awsapi.Validation("The parameter %s.Expression (query %s: %q) is not supported: vmfleet's CloudWatch evaluates no metric math or Metrics Insights expressions; ask for each metric with a MetricStat.", param, q.Id, *q.Expression)
		case q.MetricStat == nil:
			return awsapi.Validation("The query %s (%s) must have a MetricStat or an Expression.", q.Id, param)
		case q.MetricStat.Metric.Namespace == nil || q.MetricStat.Metric.MetricName == nil:
			return awsapi.Validation("The parameters %s.MetricStat.Metric.Namespace and MetricName are required.", param)
		case !validPeriod(q.MetricStat.Period, 1, 5, 10, 20, 30):
			return awsapi.Validation("The value %d for parameter %s.MetricStat.Period is not valid: use 1, 5, 10, 20, 30 or a multiple of 60.", q.MetricStat.Period, param)
		}
		if _, ok := parseStatistic(q.MetricStat.Stat); !ok {
			return awsapi.Validation("The value %s for parameter %s.MetricStat.Stat is not valid: use %s, or a percentile such as p99.", q.MetricStat.Stat, param, strings.Join(statisticNames, ", "))
		}
		ids[q.Id] = true
	}
	return nil
}

// A page's token is the index of its first datapoint: the same request
// with it goes on from there.
const tokenPrefix = "vmfleet-page:"

func pageToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(tokenPrefix + strconv.Itoa(offset)))
}

func pageOffset(token *string) (int, error) {
	if token == nil {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*token)
	n, cerr := strconv.Atoi(strings.TrimPrefix(string(b), tokenPrefix))
	if err != nil || cerr != nil || !strings.HasPrefix(string(b), tokenPrefix) || n < 0 {
		return 0, fault(cloudwatch.ErrCodeInvalidNextToken, "The next token specified is invalid: give back the NextToken of the previous answer.")
	}
	return n, nil
}
