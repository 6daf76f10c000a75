package awsapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/vmfleet/vmfleet/pkg/awswire"
)

// Error is an answer of AWS's errors: its shape (code, status, fault)
// and message.
type Error struct {
	Shape   awswire.ErrorShape
	Message string
}

func (e *Error) Error() string { return e.Shape.Code + ": " + e.Message }

// Errorf is the caller's fault with the given code, sent with 400.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Shape: awswire.ClientError(code), Message: fmt.Sprintf(format, args...)}
}

// Modeled is the error a service's model declares (its ModeledError),
// or a 400 of the code when the model does not declare it.
func Modeled(modeled func(string) (awswire.ErrorShape, bool), code, format string, args ...any) *Error {
	shape, ok := modeled(code)
	if !ok {
		shape = awswire.ClientError(code)
	}
	return &Error{Shape: shape, Message: fmt.Sprintf(format, args...)}
}

// Validation is the query services' ValidationError.
func Validation(format string, args ...any) *Error {
	return Errorf("ValidationError", format, args...)
}

// Invalid is the error of a bad parameter value: Auto Scaling,
// ELBv2 and the other query services call it ValidationError, EC2
// InvalidParameterValue.
func (p Protocol) Invalid(format string, args ...any) *Error {
	if p == EC2 {
		return Errorf("InvalidParameterValue", format, args...)
	}
	return Validation(format, args...)
}

// decodeError is what a request that does not decode gets.
func (p Protocol) decodeError(err error) *Error {
	var missing *awswire.MissingParameterError
	var invalid *awswire.InvalidParameterError
	switch {
	case errors.As(err, &missing) && p == EC2:
		return Errorf("MissingParameter", "The request must contain the parameter %s", missing.Param)
	case errors.As(err, &missing):
		return Validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", missing.Param)
	case errors.As(err, &invalid) && p == EC2:
		return Errorf("InvalidParameterValue", "Value (%s) for parameter %s is invalid: %v", invalid.Value, invalid.Param, invalid.Err)
	case errors.As(err, &invalid):
		return Validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %v", invalid.Value, invalid.Param, invalid.Err)
	}
	return p.Invalid("%v", err)
}

// internal is the service's fault, as AWS names it.
func (p Protocol) internal() *Error {
	code := "InternalFailure"
	if p == EC2 {
		code = "InternalError"
	}
	return &Error{Shape: awswire.ErrorShape{Code: code, HTTPStatus: http.StatusInternalServerError},
		Message: "An internal error has occurred; the daemon's log says what it was."}
}
