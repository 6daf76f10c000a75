// Package awsapi is vmfleet's AWS endpoint: one HTTP handler that checks
// each request's signature, finds the service it is for by its credential
// scope (and, for Elastic Load Balancing, its Version), decodes it with
// the codec generated from AWS's model, hands it to the service's handler
// and writes the answer, or AWS's error, the way that service does.
//
// A request comes in one of the protocols clients speak: the query
// protocol (and EC2's dialect of it), AWS JSON 1.0 or Smithy RPC v2 CBOR
// (wire.go tells them apart). The last two carry the same tree of
// members, read and written by reflection over the generated structs'
// aws tags (document.go), in JSON (json.go) or CBOR (cbor.go).
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
	// Query is AWS's query protocol (Auto Scaling, ELBv2, STS, and
	// CloudWatch for its older clients).
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
	// Documents is set for a service that also speaks AWS JSON 1.0 and
	// Smithy RPC v2 CBOR, as its newer clients do (CloudWatch).
	Documents *Documents
	// DecodeError, when set, is what a request that does not decode gets
	// (CloudWatch names a missing parameter MissingParameter where the
	// other query services say ValidationError); nil leaves it to the
	// protocol.
	DecodeError func(err error) *Error
}

// Documents is what the JSON 1.0 and RPC v2 CBOR protocols route and
// answer by, from the generated codec; their bodies are read into and
// written from the generated structs by the names in their aws tags.
type Documents struct {
	// TargetPrefix names the service in X-Amz-Target and in RPC v2's
	// /service/TargetPrefix/operation/Name path.
	TargetPrefix string
	// QueryCompatible services also send their query error code, in
	// x-amzn-query-error, which clients report as the error's code.
	QueryCompatible bool
	// ErrorType is an error code's __type.
	ErrorType func(code string) string
}

// Handler answers one operation; Op makes one.
type Handler struct {
	call func(ctx context.Context, in any) (any, error)
	// input is a new, empty input: what the JSON and CBOR codecs fill.
	input func() any
}

// Call runs the handler: in is the operation's generated *Input, the
// result its *Output. An error that is not an *Error is the service's
// fault.
func (h Handler) Call(ctx context.Context, in any) (any, error) {
	if h.call == nil {
		// A Handler not made by Op: a lookup of an operation not served.
		return nil, fmt.Errorf("no handler for %T", in)
	}
	return h.call(ctx, in)
}

// Op adapts a typed handler to a Handler.
func Op[I, O any](f func(context.Context, *I) (*O, error)) Handler {
	call := func(ctx context.Context, in any) (any, error) {
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
	return Handler{call: call, input: func() any { return new(I) }}
}
