package awswire

import (
	"fmt"
	"io"
	"net/url"
)

// Operation is one row of a service's generated operation table: what a
// router needs to serve "Action=Name" without knowing the shapes.
type Operation struct {
	// Name is the AWS operation name, the value of Action=.
	Name string
	// HTTPMethod is the method the model gives (POST for every query and
	// EC2 operation; clients also send GET with the parameters in the URL,
	// which the query protocol allows).
	HTTPMethod string
	// DocURL is AWS's API reference page for the operation, or "".
	DocURL string
	// Errors are the codes of the errors the model declares the operation
	// can return.
	Errors []string
	// Decode reads the request's parameters into the operation's *Input.
	Decode func(params url.Values) (any, error)
	// Encode writes the operation's *Output as AWS's XML answer.
	Encode func(w io.Writer, out any, requestID string) error
}

// WrongOutputError is what an operation table's Encode returns when handed
// another operation's output: a bug in the caller, reported rather than
// answered with a wrong document.
type WrongOutputError struct {
	Operation string
	Got       any
}

func (e *WrongOutputError) Error() string {
	return fmt.Sprintf("encoding %s: output of type %T", e.Operation, e.Got)
}
