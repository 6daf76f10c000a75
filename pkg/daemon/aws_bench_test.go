package daemon

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/client"
)

// benchFleet is 20 groups of 5 instances on the hypervisor fake, from a
// fleet file (the API describes a fleet file's groups as its own): what
// the Describe benchmarks read.
func benchFleet(b *testing.B) (awsClients, *client.Client, string, string) {
	td := newTestDaemon(b)
	c := td.aws()
	ctx := context.Background()
	var yaml strings.Builder
	yaml.WriteString("name: bench\ntime_scale: 0.02\nservices:\n")
	for i := range 20 {
		fmt.Fprintf(&yaml, `  s%02d:
    image: {binary: /bin/busybox}
    command: [/app/busybox]
    port: 8080
    cpu: 0.1
    instances: 5
    health: {interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
`, i)
	}
	file := filepath.Join(td.dir, "bench.yaml")
	if err := os.WriteFile(file, []byte(yaml.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	req, err := client.ReadFleet(file)
	if err != nil {
		b.Fatal(err)
	}
	req.BootCPUs = 64 // the fake boots nothing: launch them all at once
	if _, err := td.d.Apply(ctx, req); err != nil {
		b.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		rows, err := td.d.Instances(ctx)
		if err == nil && len(rows) == 100 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("never 100 instances: %d, %v", len(rows), err)
		}
	}
	srv := httptest.NewServer(td.d.Handler("token", func() {}))
	b.Cleanup(srv.Close)
	aws := httptest.NewServer(td.d.AWSHandler())
	b.Cleanup(aws.Close)
	return c, client.TCP(strings.TrimPrefix(srv.URL, "http://"), "token"), srv.URL, aws.URL
}

// fetch sends r and reads its whole answer, failing unless it is a 200.
func fetch(b *testing.B, r *http.Request) {
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || n == 0 {
		b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
	}
}

// BenchmarkDescribe times, through aws-sdk-go-v2 over HTTP on loopback,
// DescribeAutoScalingGroups of 20 groups and DescribeInstances of 100
// instances, beside the same listing through vmfleet's own API (pkg/client
// over HTTP): the difference is what the AWS endpoint adds.
func BenchmarkDescribe(b *testing.B) {
	c, own, ownURL, awsURL := benchFleet(b)
	ctx := context.Background()
	b.Run("DescribeAutoScalingGroups-20", func(b *testing.B) {
		for b.Loop() {
			out, err := c.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
			if err != nil || len(out.AutoScalingGroups) != 20 {
				b.Fatalf("%d groups, %v", len(out.AutoScalingGroups), err)
			}
		}
	})
	b.Run("DescribeInstances-100", func(b *testing.B) {
		for b.Loop() {
			out, err := c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
			if err != nil || len(out.Reservations) != 100 {
				b.Fatalf("%d instances, %v", len(out.Reservations), err)
			}
		}
	})
	// The same two listings on the wire alone, their answers read and not
	// decoded: what the endpoint's side costs, without the SDK's XML
	// decoding (encoding/xml) or the client's JSON decoding.
	b.Run("wire-DescribeInstances-100", func(b *testing.B) {
		for b.Loop() {
			r, _ := http.NewRequest("POST", awsURL+"/", strings.NewReader("Action=DescribeInstances&Version=2016-11-15"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIATEST/20261207/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0")
			fetch(b, r)
		}
	})
	b.Run("wire-own-API-instances-100", func(b *testing.B) {
		for b.Loop() {
			r, _ := http.NewRequest("GET", ownURL+"/v1/instances", nil)
			r.Header.Set(api.TokenHeader, "token")
			fetch(b, r)
		}
	})
	b.Run("own-API-instances-100", func(b *testing.B) {
		for b.Loop() {
			rows, err := own.Instances(ctx)
			if err != nil || len(rows) != 100 {
				b.Fatalf("%d instances, %v", len(rows), err)
			}
		}
	})
}

// BenchmarkCloudWatch times what a dashboard or a script polling
// CloudWatch asks, through aws-sdk-go-v2 (Smithy RPC v2 CBOR) over HTTP:
// GetMetricData of one group's CPUUtilization and of one instance's
// NetworkIn over the last 5 minutes, and ListMetrics of everything (20
// groups of 5 instances), from the daemon's one-second history.
func BenchmarkCloudWatch(b *testing.B) {
	c, _, _, _ := benchFleet(b)
	cw := cloudwatch.NewFromConfig(c.cfg)
	ctx := context.Background()
	rows, err := c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		b.Fatal(err)
	}
	instance := aws.ToString(rows.Reservations[0].Instances[0].InstanceId)
	query := func(id, ns, metric, dim, value string) cwtypes.MetricDataQuery {
		return cwtypes.MetricDataQuery{Id: aws.String(id), MetricStat: &cwtypes.MetricStat{Period: aws.Int32(60), Stat: aws.String("Average"),
			Metric: &cwtypes.Metric{Namespace: aws.String(ns), MetricName: aws.String(metric),
				Dimensions: []cwtypes.Dimension{{Name: aws.String(dim), Value: aws.String(value)}}}}}
	}
	get := func(b *testing.B, q cwtypes.MetricDataQuery) {
		for b.Loop() {
			end := time.Now()
			out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(end.Add(-5 * time.Minute)), EndTime: aws.Time(end),
				MetricDataQueries: []cwtypes.MetricDataQuery{q}})
			if err != nil || len(out.MetricDataResults) != 1 {
				b.Fatalf("%+v, %v", out, err)
			}
		}
	}
	b.Run("GetMetricData-group-CPUUtilization-5m", func(b *testing.B) {
		get(b, query("cpu", "AWS/EC2", "CPUUtilization", "AutoScalingGroupName", "bench-s00"))
	})
	b.Run("GetMetricData-instance-NetworkIn-5m", func(b *testing.B) {
		get(b, query("net", "AWS/EC2", "NetworkIn", "InstanceId", instance))
	})
	b.Run("ListMetrics-all", func(b *testing.B) {
		for b.Loop() {
			out, err := cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{})
			if err != nil || len(out.Metrics) == 0 {
				b.Fatalf("%d metrics, %v", len(out.Metrics), err)
			}
		}
	})
}
