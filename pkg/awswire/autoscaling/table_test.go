package autoscaling_test

import (
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/awswire"
	"github.com/vmfleet/vmfleet/pkg/awswire/autoscaling"
)

// TestTheOperationTableDispatchesOnAction is how the router will use the
// table: look the Action up, decode, encode, without knowing the types.
func TestTheOperationTableDispatchesOnAction(t *testing.T) {
	ops := autoscaling.Operations()
	if len(ops) != 34 {
		t.Errorf("the table has %d operations, want the 34 generated", len(ops))
	}
	op, ok := ops["SetDesiredCapacity"]
	if !ok {
		t.Fatal("SetDesiredCapacity is not in the table")
	}
	if op.HTTPMethod != "POST" || op.DocURL != "https://docs.aws.amazon.com/goto/WebAPI/autoscaling-2011-01-01/SetDesiredCapacity" {
		t.Errorf("row: method %q, doc %q", op.HTTPMethod, op.DocURL)
	}
	if len(op.Errors) != 2 || op.Errors[0] != autoscaling.ErrCodeScalingActivityInProgressFault {
		t.Errorf("declared errors: %v", op.Errors)
	}
	in, err := op.Decode(url.Values{"AutoScalingGroupName": {"web"}, "DesiredCapacity": {"3"}, "HonorCooldown": {"true"}})
	if err != nil {
		t.Fatal(err)
	}
	if sdc, ok := in.(*autoscaling.SetDesiredCapacityInput); !ok || sdc.AutoScalingGroupName != "web" || sdc.DesiredCapacity != 3 || !*sdc.HonorCooldown {
		t.Errorf("decoded %#v", in)
	}
	var b strings.Builder
	if err := op.Encode(&b, &autoscaling.SetDesiredCapacityOutput{}, "req-1"); err != nil {
		t.Fatal(err)
	}
	want := `<SetDesiredCapacityResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">` +
		`<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></SetDesiredCapacityResponse>`
	if b.String() != want {
		t.Errorf("encoded\n%s\nwant\n%s", b.String(), want)
	}
	var wrong *awswire.WrongOutputError
	if err := op.Encode(io.Discard, &autoscaling.DescribeTagsOutput{}, "req-2"); !errors.As(err, &wrong) {
		t.Errorf("encoding another operation's output: err = %v, want a WrongOutputError", err)
	}
	_, err = op.Decode(url.Values{"DesiredCapacity": {"3"}})
	var missing *awswire.MissingParameterError
	if !errors.As(err, &missing) || missing.Param != "AutoScalingGroupName" {
		t.Errorf("decoding without the group name: err = %v, want AutoScalingGroupName missing", err)
	}
}
