package cloudwatchapi

import (
	"context"
	"fmt"
	"slices"

	"github.com/vmfleet/vmfleet/pkg/awswire/cloudwatch"
)

// ListMetrics lists every metric there is history of, which is all of it
// recently active: the daemon keeps an hour, and PT3H is the one period
// RecentlyActive takes. Lists come whole, with no NextToken.
func (c *CloudWatch) listMetrics(ctx context.Context, in *cloudwatch.ListMetricsInput) (*cloudwatch.ListMetricsOutput, error) {
	if r := in.RecentlyActive; r != nil && *r != "PT3H" {
		return nil, fault(cloudwatch.ErrCodeInvalidParameterValueException, "The parameter RecentlyActive must be PT3H, not %s.", *r)
	}
	if len(in.Dimensions) > 10 {
		return nil, fault(cloudwatch.ErrCodeInvalidParameterValueException, "The collection Dimensions must not have a size greater than 10.")
	}
	groups, err := c.Source.Groups(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the groups for ListMetrics: %w", err)
	}
	out := &cloudwatch.ListMetricsOutput{Metrics: []cloudwatch.Metric{}}
	for _, s := range c.streams(groups) {
		if (in.Namespace != nil && *in.Namespace != s.namespace) || (in.MetricName != nil && *in.MetricName != s.name) || !s.has(in.Dimensions) {
			continue
		}
		out.Metrics = append(out.Metrics, s.metric())
	}
	return out, nil
}

// has tells whether the stream has every dimension filtered on: one of
// the name, of the value when the filter gives one.
func (s *stream) has(filters []cloudwatch.DimensionFilter) bool {
	for _, f := range filters {
		if !slices.ContainsFunc(s.dims, func(d cloudwatch.Dimension) bool {
			return d.Name == f.Name && (f.Value == nil || *f.Value == d.Value)
		}) {
			return false
		}
	}
	return true
}
