package cloudwatchapi_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// awsCLI is one AWS CLI on this machine, and the content type it sends
// CloudWatch: the v1 on the image (botocore 1.43) speaks JSON 1.0,
// Debian's v2 2.9, whose model predates CloudWatch's move off query,
// the query protocol.
type awsCLI struct {
	name, path, sends string
}

// awsCLIs are the CLIs installed; the test is skipped without any.
func awsCLIs(t *testing.T) []awsCLI {
	t.Helper()
	candidates := []string{"/usr/local/bin/aws", "/usr/bin/aws"}
	if p, err := exec.LookPath("aws"); err == nil {
		candidates = append([]string{p}, candidates...)
	}
	var out []awsCLI
	seen := map[string]bool{}
	for _, p := range candidates {
		v, err := exec.Command(p, "--version").CombinedOutput()
		if err != nil {
			continue
		}
		switch version := string(v); {
		case strings.HasPrefix(version, "aws-cli/1.") && !seen["v1"]:
			out = append(out, awsCLI{"v1", p, "application/x-amz-json-1.0"})
			seen["v1"] = true
		case strings.HasPrefix(version, "aws-cli/2.9.") && !seen["v2"]:
			out = append(out, awsCLI{"v2 2.9", p, "application/x-www-form-urlencoded; charset=utf-8"})
			seen["v2"] = true
		}
	}
	if len(out) == 0 {
		t.Skip("no AWS CLI v1 or v2 2.9 is installed (pip install awscli; apt-get install awscli)")
	}
	return out
}

// run runs the CLI against the fixture with the fixture's key and
// nothing of the machine's AWS configuration, and returns its output
// and, when it fails, what it said.
func (c awsCLI) run(t *testing.T, f *fixture, args ...string) ([]byte, string, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.CommandContext(t.Context(), c.path, append([]string{"--endpoint-url", f.url, "--region", "us-east-1", "--output", "json"}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "AWS_CONFIG_FILE=" + home + "/config",
		"AWS_SHARED_CREDENTIALS_FILE=" + home + "/credentials", "AWS_ACCESS_KEY_ID=" + key.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + key.SecretAccessKey, "AWS_PAGER="}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	return out, stderr.String(), err
}

// each runs test with each CLI, and checks it spoke the protocol it does.
func (f *fixture) eachCLI(t *testing.T, test func(t *testing.T, c awsCLI)) {
	for _, c := range awsCLIs(t) {
		t.Run(c.name, func(t *testing.T) {
			before := len(f.sent())
			test(t, c)
			for _, ct := range f.sent()[before:] {
				if ct != c.sends {
					t.Errorf("the CLI sent %q, want %q", ct, c.sends)
				}
			}
		})
	}
}

// cliTime is a timestamp as the CLI prints it: v1 by default prints what
// came on the wire (epoch seconds in JSON 1.0), v2 ISO 8601.
type cliTime struct{ time.Time }

func (c *cliTime) UnmarshalJSON(b []byte) error {
	var secs float64
	if err := json.Unmarshal(b, &secs); err == nil {
		c.Time = time.Unix(0, int64(secs*1e9)).UTC()
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339, s)
	c.Time = t
	return err
}

func TestTheAWSCLIReadsStatisticsDataAndTheListOfMetrics(t *testing.T) {
	f := newFixture(t)
	f.eachCLI(t, func(t *testing.T, c awsCLI) {
		out, stderr, err := c.run(t, f, "cloudwatch", "get-metric-statistics", "--namespace", "AWS/EC2", "--metric-name", "CPUUtilization",
			"--dimensions", "Name=AutoScalingGroupName,Value=web", "--start-time", "2026-12-01T12:00:00Z", "--end-time", "2026-12-01T12:02:00Z",
			"--period", "60", "--statistics", "Average", "Maximum", "--extended-statistics", "p50")
		if err != nil {
			t.Fatalf("%v: %s", err, stderr)
		}
		var stats struct {
			Label      string
			Datapoints []struct {
				Timestamp          cliTime
				Average, Maximum   float64
				Unit               string
				ExtendedStatistics map[string]float64
			}
		}
		if err := json.Unmarshal(out, &stats); err != nil || stats.Label != "CPUUtilization" || len(stats.Datapoints) != 2 {
			t.Fatalf("%s: %v", out, err)
		}
		for i, want := range []struct {
			at            time.Time
			avg, max, p50 float64
		}{{at(0, 0), 15, 20, 10}, {at(1, 0), (30*60 + 50*59) / 119.0, 50, 30}} {
			d := stats.Datapoints[i]
			if !d.Timestamp.Equal(want.at) || !near(d.Average, want.avg) || d.Maximum != want.max || d.ExtendedStatistics["p50"] != want.p50 || d.Unit != "Percent" {
				t.Errorf("datapoint %d: %+v, want %+v", i, d, want)
			}
		}

		out, stderr, err = c.run(t, f, "cloudwatch", "get-metric-data", "--start-time", "2026-12-01T12:00:00Z", "--end-time", "2026-12-01T12:02:00Z",
			"--scan-by", "TimestampAscending", "--metric-data-queries", `[
				{"Id": "requests", "MetricStat": {"Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": "RequestCountPerTarget",
					"Dimensions": [{"Name": "TargetGroup", "Value": "`+webTG+`"}]}, "Period": 60, "Stat": "Sum"}, "Label": "per target"},
				{"Id": "out", "MetricStat": {"Metric": {"Namespace": "AWS/EC2", "MetricName": "NetworkOut",
					"Dimensions": [{"Name": "InstanceId", "Value": "i-bbb"}]}, "Period": 30, "Stat": "Sum"}}]`)
		if err != nil {
			t.Fatalf("%v: %s", err, stderr)
		}
		var data struct {
			MetricDataResults []struct {
				Id, Label, StatusCode string
				Timestamps            []cliTime
				Values                []float64
			}
		}
		if err := json.Unmarshal(out, &data); err != nil || len(data.MetricDataResults) != 2 {
			t.Fatalf("%s: %v", out, err)
		}
		if r := data.MetricDataResults[0]; r.Id != "requests" || r.Label != "per target" || r.StatusCode != "Complete" || !equal(r.Values, []float64{120, 120}) || len(r.Timestamps) != 2 {
			t.Errorf("requests: %+v", r)
		}
		if r := data.MetricDataResults[1]; r.Label != "NetworkOut" || !equal(r.Values, []float64{1500, 1500, 1500, 1500}) || len(r.Timestamps) != 4 {
			t.Errorf("out: %+v", r)
		} else if !r.Timestamps[1].Equal(at(0, 30)) {
			t.Errorf("out's second timestamp %s, want 12:00:30", r.Timestamps[1])
		}

		out, stderr, err = c.run(t, f, "cloudwatch", "list-metrics", "--namespace", "AWS/ApplicationELB", "--metric-name", "HealthyHostCount")
		if err != nil {
			t.Fatalf("%v: %s", err, stderr)
		}
		var list struct {
			Metrics []struct {
				Namespace, MetricName string
				Dimensions            []struct{ Name, Value string }
			}
		}
		if err := json.Unmarshal(out, &list); err != nil || len(list.Metrics) != 1 || len(list.Metrics[0].Dimensions) != 2 ||
			list.Metrics[0].Dimensions[0] != (struct{ Name, Value string }{"LoadBalancer", webLB}) {
			t.Errorf("%s: %v", out, err)
		}
	})
}

func TestTheAWSCLIShowsCloudWatchsErrorCodes(t *testing.T) {
	f := newFixture(t)
	f.eachCLI(t, func(t *testing.T, c awsCLI) {
		for _, tc := range []struct {
			args []string
			says string
		}{
			{[]string{"get-metric-data", "--start-time", "2026-12-01T12:00:00Z", "--end-time", "2026-12-01T12:02:00Z",
				"--metric-data-queries", `[{"Id": "twice", "Expression": "SUM(METRICS()) * 2"}]`}, "(ValidationError)"},
			{[]string{"get-metric-statistics", "--namespace", "AWS/EC2", "--metric-name", "CPUUtilization", "--start-time", "2026-12-01T12:00:00Z",
				"--end-time", "2026-12-01T12:02:00Z", "--period", "7", "--statistics", "Average"}, "(InvalidParameterValue)"},
			{[]string{"get-metric-statistics", "--namespace", "AWS/EC2", "--metric-name", "CPUUtilization", "--start-time", "2026-12-01T12:00:00Z",
				"--end-time", "2026-12-01T12:02:00Z", "--period", "60"}, "(InvalidParameterCombination)"},
		} {
			_, stderr, err := c.run(t, f, append([]string{"cloudwatch"}, tc.args...)...)
			if err == nil || !strings.Contains(stderr, tc.says) {
				t.Errorf("%s: %v, %q; want a failure saying %s", tc.args[0], err, stderr, tc.says)
			}
		}
	})
}
