// Package cloudwatchapi answers CloudWatch's metric reads: GetMetricData,
// GetMetricStatistics and ListMetrics, over the one-second history the
// daemon keeps of its instances and groups, named as AWS names EC2's and
// Application Load Balancers' metrics.
package cloudwatchapi

import (
	"context"
	"errors"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire"
	"github.com/vmfleet/vmfleet/pkg/awswire/cloudwatch"
)

// Source is what CloudWatch reads of the daemon.
type Source interface {
	// Groups are the groups there are metrics of.
	Groups(ctx context.Context) ([]Group, error)
	// Points are one kept metric of an entity (an instance id, or a
	// group's fleet/service), a value a second, in [from, to), oldest
	// first, without the seconds that have none.
	Points(entity, metric string, from, to time.Time) []api.Point
}

// Group is one Auto Scaling group, with the names its metrics carry.
type Group struct {
	// Name is its Auto Scaling group name.
	Name string
	// Entity is the daemon's name of its own series (fleet/service).
	Entity string
	// Instances are the ids of its instances with history: those it
	// has and those gone within the history kept.
	Instances []string
	// TargetGroup and LoadBalancer are the dimension values of its
	// target group and of the load balancer in front of that, as AWS
	// writes them (the ARNs' ends: targetgroup/web-tg/0123456789abcdef,
	// app/web-lb/0123456789abcdef); "" when it has none.
	TargetGroup, LoadBalancer string
}

// The metrics the daemon keeps (pkg/metrics) that CloudWatch's are made of.
const (
	keptCPU       = "cpu_percent" // an instance's, of its CPU cap
	keptNetIn     = "net_rx_rate" // bytes a second
	keptNetOut    = "net_tx_rate"
	keptConnRate  = "conn_rate"  // a group's new connections a second
	keptInService = "in_service" // a group's instances in service
)

// CloudWatch is the CloudWatch service of one home.
type CloudWatch struct {
	Source Source
}

// Service is the endpoint's CloudWatch, in the query protocol, JSON 1.0
// and RPC v2 CBOR.
func (c *CloudWatch) Service() *awsapi.Service {
	return &awsapi.Service{
		SigningName: cloudwatch.SigningName, Version: cloudwatch.APIVersion, Protocol: awsapi.Query,
		Operations: cloudwatch.Operations(), EncodeError: cloudwatch.EncodeError,
		Documents: &awsapi.Documents{TargetPrefix: cloudwatch.TargetPrefix, QueryCompatible: cloudwatch.QueryCompatible,
			ErrorType: errorType},
		DecodeError: decodeError,
		Handlers: map[string]awsapi.Handler{
			"GetMetricData":       awsapi.Op(c.getMetricData),
			"GetMetricStatistics": awsapi.Op(c.getMetricStatistics),
			"ListMetrics":         awsapi.Op(c.listMetrics),
		},
	}
}

// decodeError is CloudWatch's answer to a request that does not decode:
// its own MissingParameter and InvalidParameterValue, where the other
// query services say ValidationError.
func decodeError(err error) *awsapi.Error {
	var missing *awswire.MissingParameterError
	var invalid *awswire.InvalidParameterError
	switch {
	case errors.As(err, &missing):
		return fault(cloudwatch.ErrCodeMissingRequiredParameterException, "The parameter %s is required.", missing.Param)
	case errors.As(err, &invalid):
		return fault(cloudwatch.ErrCodeInvalidParameterValueException, "The value %s for parameter %s is invalid: %v.", invalid.Value, invalid.Param, invalid.Err)
	}
	return fault(cloudwatch.ErrCodeInvalidParameterValueException, "%v", err)
}

// errorType is the __type of CloudWatch's JSON and CBOR errors: the
// model's, and for ValidationError the shape AWS's newer models give it,
// which the botocore model the codec is made from lacks (the Go SDK makes
// it its types.ValidationException).
func errorType(code string) string {
	if code == "ValidationError" {
		return "com.amazonaws.cloudwatch#ValidationException"
	}
	return cloudwatch.ErrorType(code)
}

// fault is the error CloudWatch's model declares with code.
func fault(code, format string, args ...any) *awsapi.Error {
	return awsapi.Modeled(cloudwatch.ModeledError, code, format, args...)
}
