// Package awsapi is vmfleet's AWS endpoint: one HTTP handler that checks
// each request's signature, finds the service it is for by its credential
// scope (and, for Elastic Load Balancing, its Version), decodes it with
// the codec generated from AWS's model, hands it to the service's handler
// and writes the answer, or AWS's error, the way that service does.
//
// The handlers themselves live with the services (ec2api, stsapi, ...):
// this package knows protocols, not resources.
package awsapi

import (
	"context"
	"fmt"
	"io"

	"github.com/vmfleet/vmfleet/pkg/awswire"
)

// Protocol is how a service's requests and errors are shaped.
type Protocol int

const (
	// Query is AWS's query protocol (Auto Scaling, ELBv2, STS, CloudWatch).
	Query Protocol = iota
	// EC2 is the query protocol's EC2 dialect: other error envelope and
	// codes, DryRun.
	EC2
)

// Service is one AWS service the endpoint answers.
type Service struct {
	// SigningName is the service in a request's credential scope.
	SigningName string
	// Version is the API version answered: a request for another one
	// (Elastic Load Balancing's classic 2012-06-01) is another service.
	Version  string
	Protocol Protocol
	// Operations is the generated operation table.
	Operations map[string]awswire.Operation
	// EncodeError writes the service's error envelope (generated).
	EncodeError func(w io.Writer, shape awswire.ErrorShape, message, requestID string) error
	// Handlers answer the operations implemented, by name.
	Handlers map[string]Handler
}

// Handler answers one operation: in is the operation's generated *Input,
// the result its *Output. An error that is not an *Error is the
// service's fault.
type Handler func(ctx context.Context, in any) (any, error)

// Op adapts a typed handler to a Handler.
func Op[I, O any](f func(context.Context, *I) (*O, error)) Handler {
	return func(ctx context.Context, in any) (any, error) {
		typed, ok := in.(*I)
		if !ok {
			return nil, fmt.Errorf("handler for %T given %T", typed, in)
		}
		out, err := f(ctx, typed)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}
