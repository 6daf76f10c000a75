package awsapi

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/awswire"
	"github.com/vmfleet/vmfleet/pkg/awswire/cloudwatch"
)

// decoded reads a JSON document into a GetMetricDataInput, as the JSON
// protocol does.
func decoded(t *testing.T, doc string) (*cloudwatch.GetMetricDataInput, error) {
	t.Helper()
	tree, err := jsonFormat{"1.0"}.unmarshal([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	in := new(cloudwatch.GetMetricDataInput)
	return in, fromTree(tree, reflect.ValueOf(in).Elem(), "")
}

func TestADocumentFillsTheGeneratedStructByTheTagsNames(t *testing.T) {
	in, err := decoded(t, `{"StartTime": 1796126400, "EndTime": 1796126460.25, "MaxDatapoints": 10, "Unknown": true,
		"MetricDataQueries": [{"Id": "m", "ReturnData": false, "Label": null,
			"MetricStat": {"Metric": {"Namespace": "AWS/EC2", "Dimensions": [{"Name": "InstanceId", "Value": "i-1"}]}, "Period": 6e1, "Stat": "p99"}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	q := in.MetricDataQueries[0]
	if !in.StartTime.Equal(time.Unix(1796126400, 0)) || !in.EndTime.Equal(time.Unix(1796126460, 250e6)) || *in.MaxDatapoints != 10 ||
		q.Id != "m" || *q.ReturnData || q.Label != nil || q.MetricStat.Period != 60 || *q.MetricStat.Metric.Namespace != "AWS/EC2" ||
		q.MetricStat.Metric.MetricName != nil || q.MetricStat.Metric.Dimensions[0].Value != "i-1" || in.ScanBy != nil {
		b, _ := json.Marshal(in)
		t.Fatalf("decoded %s", b)
	}
}

func TestADocumentMissingARequiredMemberOrOfTheWrongKindNamesTheParameter(t *testing.T) {
	const times = `"StartTime": 1, "EndTime": 2`
	for _, c := range []struct {
		doc, param string
		missing    bool
	}{
		{`{"EndTime": 2, "MetricDataQueries": []}`, "StartTime", true},
		{`{` + times + `}`, "MetricDataQueries", true},
		{`{` + times + `, "MetricDataQueries": [{"Id": "a"}, {"Id": "b", "MetricStat": {"Metric": {}, "Stat": "Sum"}}]}`, "MetricDataQueries.member.2.MetricStat.Period", true},
		{`{` + times + `, "MetricDataQueries": [{"Id": "a", "MetricStat": {"Metric": {}, "Stat": "Sum", "Period": 2147483648}}]}`, "MetricDataQueries.member.1.MetricStat.Period", false},
		{`{` + times + `, "MetricDataQueries": [{"Id": "a", "MetricStat": {"Metric": {}, "Stat": "Sum", "Period": 1.5}}]}`, "MetricDataQueries.member.1.MetricStat.Period", false},
		{`{` + times + `, "MetricDataQueries": {"Id": "a"}}`, "MetricDataQueries", false},
		{`{"StartTime": "yesterday", "EndTime": 2, "MetricDataQueries": []}`, "StartTime", false},
		{`{` + times + `, "MetricDataQueries": [{"Id": 7}]}`, "MetricDataQueries.member.1.Id", false},
	} {
		_, err := decoded(t, c.doc)
		var missing *awswire.MissingParameterError
		var invalid *awswire.InvalidParameterError
		switch {
		case c.missing && (!errors.As(err, &missing) || missing.Param != c.param):
			t.Errorf("%s: %v, want %s missing", c.doc, err, c.param)
		case !c.missing && (!errors.As(err, &invalid) || invalid.Param != c.param):
			t.Errorf("%s: %v, want %s invalid", c.doc, err, c.param)
		}
	}
}

func TestATreeLeavesOutWhatIsNilAndKeepsWhatIsEmpty(t *testing.T) {
	ts := time.Date(2026, 12, 1, 12, 0, 0, 500e6, time.UTC)
	out := &cloudwatch.GetMetricDataOutput{MetricDataResults: []cloudwatch.MetricDataResult{
		{Id: ptr("a"), Timestamps: []time.Time{ts}, Values: []float64{math.NaN()}},
		{Id: ptr("b"), Timestamps: []time.Time{}, Values: []float64{}},
	}}
	tree, _ := toTree(reflect.ValueOf(out))
	b, err := jsonFormat{"1.0"}.marshal(tree)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"MetricDataResults":[{"Id":"a","Timestamps":[1796126400.5],"Values":["NaN"]},{"Id":"b","Timestamps":[],"Values":[]}]}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func ptr[T any](v T) *T { return &v }
