package cloudwatchapi

import (
	"cmp"
	"slices"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awswire/cloudwatch"
)

// The namespaces, metrics and dimensions served, in AWS's names.
const (
	nsEC2 = "AWS/EC2"
	nsELB = "AWS/ApplicationELB"

	dimInstance     = "InstanceId"
	dimGroup        = "AutoScalingGroupName"
	dimTargetGroup  = "TargetGroup"
	dimLoadBalancer = "LoadBalancer"
)

// stream is one CloudWatch metric, a namespace, name and set of
// dimensions, with the unit it is in and how its samples are read. A
// sample is a second of one instance or group: a metric of a group of
// instances has one sample per instance a second, as AWS aggregates an
// Auto Scaling group's EC2 metrics over its instances' datapoints.
type stream struct {
	namespace, name, unit string
	dims                  []cloudwatch.Dimension // sorted by name
	samples               func(from, to time.Time) []api.Point
}

// ec2Metric is one of the EC2 metrics: what it is made of.
type ec2Metric struct {
	name, unit, kept string
}

// ec2Metrics are AWS/EC2's metrics served. CPUUtilization is the percent
// of the instance's CPU cap, the figure vmfleet's target tracking acts on
// (ASGAverageCPUUtilization): for m5 and c5 types, whose cap is their
// vCPUs, that is AWS's percent of the vCPUs; a burstable type, capped at
// its baseline, reads 100 where AWS would show the baseline's percent.
// NetworkIn and NetworkOut are bytes: a second's sample is its rate over
// one second, so a period's Sum is the bytes of the period.
var ec2Metrics = []ec2Metric{
	{"CPUUtilization", "Percent", keptCPU},
	{"NetworkIn", "Bytes", keptNetIn},
	{"NetworkOut", "Bytes", keptNetOut},
}

// streams are every metric there is of the groups.
func (c *CloudWatch) streams(groups []Group) []stream {
	var out []stream
	for _, g := range groups {
		out = append(out, c.groupStreams(g)...)
	}
	slices.SortFunc(out, func(a, b stream) int {
		return cmp.Or(cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.name, b.name), compareDims(a.dims, b.dims))
	})
	return out
}

// groupStreams are one group's metrics: its instances' and its own EC2
// ones, and its target group's ELB ones.
func (c *CloudWatch) groupStreams(g Group) []stream {
	var out []stream
	for _, m := range ec2Metrics {
		for _, id := range g.Instances {
			out = append(out, stream{namespace: nsEC2, name: m.name, unit: m.unit, dims: dims(dimInstance, id),
				samples: func(from, to time.Time) []api.Point { return c.Source.Points(id, m.kept, from, to) }})
		}
		if len(g.Instances) == 0 {
			continue
		}
		out = append(out, stream{namespace: nsEC2, name: m.name, unit: m.unit, dims: dims(dimGroup, g.Name),
			samples: func(from, to time.Time) []api.Point {
				var all []api.Point
				for _, id := range g.Instances {
					all = append(all, c.Source.Points(id, m.kept, from, to)...)
				}
				return all
			}})
	}
	if g.TargetGroup == "" {
		return out
	}
	perTarget := func(from, to time.Time) []api.Point { return c.requestsPerTarget(g.Entity, from, to) }
	healthy := func(from, to time.Time) []api.Point { return c.Source.Points(g.Entity, keptInService, from, to) }
	out = append(out, stream{namespace: nsELB, name: "RequestCountPerTarget", unit: "Count", dims: dims(dimTargetGroup, g.TargetGroup), samples: perTarget})
	if g.LoadBalancer != "" {
		both := dims(dimLoadBalancer, g.LoadBalancer, dimTargetGroup, g.TargetGroup)
		out = append(out,
			stream{namespace: nsELB, name: "RequestCountPerTarget", unit: "Count", dims: both, samples: perTarget},
			stream{namespace: nsELB, name: "HealthyHostCount", unit: "Count", dims: both, samples: healthy})
	}
	return out
}

// requestsPerTarget is a group's RequestCountPerTarget, a second at a
// time: the connections its balancer sent in that second over the
// instances in service then. The balancer counts connections, not HTTP
// requests, so a keep-alive connection's requests count once: the same
// approximation vmfleet's ALBRequestCountPerTarget policy scales by. A
// second with no instance in service has no sample.
func (c *CloudWatch) requestsPerTarget(entity string, from, to time.Time) []api.Point {
	inService := map[int64]float64{}
	for _, p := range c.Source.Points(entity, keptInService, from, to) {
		inService[p.Time.Unix()] = p.Value
	}
	var out []api.Point
	for _, p := range c.Source.Points(entity, keptConnRate, from, to) {
		if n := inService[p.Time.Unix()]; n > 0 {
			out = append(out, api.Point{Time: p.Time, Value: p.Value / n})
		}
	}
	return out
}

// dims are name, value pairs as dimensions, sorted by name.
func dims(nameValues ...string) []cloudwatch.Dimension {
	var out []cloudwatch.Dimension
	for i := 0; i+1 < len(nameValues); i += 2 {
		out = append(out, cloudwatch.Dimension{Name: nameValues[i], Value: nameValues[i+1]})
	}
	slices.SortFunc(out, byName)
	return out
}

func byName(a, b cloudwatch.Dimension) int { return cmp.Compare(a.Name, b.Name) }

func compareDims(a, b []cloudwatch.Dimension) int {
	return slices.CompareFunc(a, b, func(x, y cloudwatch.Dimension) int {
		return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.Value, y.Value))
	})
}

// find is the stream a request names: the same namespace, name and set
// of dimensions (in any order), as CloudWatch matches metrics; nil when
// there is none, which is no data rather than an error.
func find(all []stream, namespace, name string, given []cloudwatch.Dimension) *stream {
	want := slices.Clone(given)
	slices.SortFunc(want, byName)
	for i := range all {
		if s := &all[i]; s.namespace == namespace && s.name == name && compareDims(s.dims, want) == 0 {
			return s
		}
	}
	return nil
}

// metric is the stream as ListMetrics lists it.
func (s *stream) metric() cloudwatch.Metric {
	return cloudwatch.Metric{Namespace: new(s.namespace), MetricName: new(s.name), Dimensions: slices.Clone(s.dims)}
}
