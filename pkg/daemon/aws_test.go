package daemon

import (
	"os"
	"strings"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awsapi"
)

// awsServiceNames are the services' names as AWS's documentation gives them.
var awsServiceNames = map[string]string{
	"sts": "STS", "ec2": "EC2", "autoscaling": "Auto Scaling", "elasticloadbalancing": "Elastic Load Balancing v2", "monitoring": "CloudWatch",
}

// TestTheREADMEListsTheAWSOperationsServed holds the README's table of
// operations to the handlers the endpoint has; VMFLEET_UPDATE_README=1
// rewrites it.
func TestTheREADMEListsTheAWSOperationsServed(t *testing.T) {
	const begin, end = "<!-- aws-operations: made by pkg/daemon's TestTheREADMEListsTheAWSOperationsServed -->\n", "<!-- /aws-operations -->\n"
	table := awsapi.OperationsTable(awsServiceNames, awsServices(nil, nil, nil, api.AWSEndpoint{})...)
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q ... %q section", strings.TrimSpace(begin), strings.TrimSpace(end))
	}
	if got := readme[i+len(begin) : j]; got != table {
		if os.Getenv("VMFLEET_UPDATE_README") != "" {
			if err := os.WriteFile("../../README.md", []byte(readme[:i+len(begin)]+table+readme[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("README.md's table of AWS operations is not what the endpoint serves; run VMFLEET_UPDATE_README=1 go test ./pkg/daemon -run README\nwant:\n%s", table)
	}
}
