package daemon

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/vmfleet/vmfleet/pkg/awswire/awswiretest"
)

// TestCloudWatchMeasuresAGroupUnderTheNamesTheOtherServicesGiveIt makes a
// group behind a load balancer through the API, and reads its metrics
// through CloudWatch (the SDK's CBOR) by the names Auto Scaling, EC2 and
// ELBv2 give the group, its instances, its target group and its load
// balancer: the daemon's one-second history is what answers.
func TestCloudWatchMeasuresAGroupUnderTheNamesTheOtherServicesGiveIt(t *testing.T) {
	td := newTestDaemon(t)
	c := td.aws()
	srv := httptest.NewServer(td.d.AWSHandler())
	t.Cleanup(srv.Close)
	cw := cloudwatch.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Retryer: awswiretest.Retryer,
		Credentials: credentials.NewStaticCredentialsProvider("AKIATEST", "secret", "")})
	ctx := context.Background()
	tgARN, _ := c.webBehindBalancer(t, td)
	if _, err := c.asg.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"),
		LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web")},
		MinSize:        aws.Int32(1), MaxSize: aws.Int32(2), DesiredCapacity: aws.Int32(2), TargetGroupARNs: []string{tgARN}}); err != nil {
		t.Fatal(err)
	}
	c.healthy(t, tgARN, 2)
	lbs, err := c.elb.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{"web-lb"}})
	if err != nil {
		t.Fatal(err)
	}
	// AWS's dimension values are the ARNs' ends.
	_, tgDim, _ := strings.Cut(tgARN, ":targetgroup/")
	_, lbDim, _ := strings.Cut(aws.ToString(lbs.LoadBalancers[0].LoadBalancerArn), ":loadbalancer/")
	balancer := []cwtypes.Dimension{{Name: aws.String("LoadBalancer"), Value: aws.String(lbDim)}, {Name: aws.String("TargetGroup"), Value: aws.String("targetgroup/" + tgDim)}}

	// The sampler records a second at a time: two instances in service
	// show within a few.
	var healthy []cwtypes.Datapoint
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		out, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("AWS/ApplicationELB"),
			MetricName: aws.String("HealthyHostCount"), Dimensions: balancer, StartTime: aws.Time(time.Now().Add(-time.Minute)),
			EndTime: aws.Time(time.Now().Add(time.Minute)), Period: aws.Int32(1), Statistics: []cwtypes.Statistic{cwtypes.StatisticMaximum}})
		if err != nil {
			t.Fatal(err)
		}
		healthy = out.Datapoints
		if len(healthy) > 0 && aws.ToFloat64(healthy[len(healthy)-1].Maximum) == 2 {
			break
		}
	}
	if len(healthy) == 0 || aws.ToFloat64(healthy[len(healthy)-1].Maximum) != 2 {
		t.Fatalf("HealthyHostCount of %v: %+v, want 2 at the last second", balancer, healthy)
	}

	groups, err := c.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web"}})
	if err != nil || len(groups.AutoScalingGroups) != 1 {
		t.Fatalf("%+v, %v", groups, err)
	}
	// Each metric, found by the names the other services give: exactly
	// one metric has them.
	filter := func(nameValues ...string) []cwtypes.DimensionFilter {
		var out []cwtypes.DimensionFilter
		for i := 0; i < len(nameValues); i += 2 {
			out = append(out, cwtypes.DimensionFilter{Name: aws.String(nameValues[i]), Value: aws.String(nameValues[i+1])})
		}
		return out
	}
	want := []*cloudwatch.ListMetricsInput{
		{Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String("RequestCountPerTarget"), Dimensions: filter("TargetGroup", "targetgroup/"+tgDim, "LoadBalancer", lbDim)},
		{Namespace: aws.String("AWS/EC2"), MetricName: aws.String("CPUUtilization"), Dimensions: filter("AutoScalingGroupName", "web")},
	}
	for _, i := range groups.AutoScalingGroups[0].Instances {
		want = append(want, &cloudwatch.ListMetricsInput{Namespace: aws.String("AWS/EC2"), MetricName: aws.String("NetworkIn"), Dimensions: filter("InstanceId", aws.ToString(i.InstanceId))})
	}
	for _, in := range want {
		list, err := cw.ListMetrics(ctx, in)
		if err != nil || len(list.Metrics) != 1 {
			t.Errorf("%s %s %v: %+v, %v; want the one metric", aws.ToString(in.Namespace), aws.ToString(in.MetricName), in.Dimensions, list, err)
		}
	}
}
