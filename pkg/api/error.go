package api

import (
	"errors"
	"net/http"
)

// Error kinds: what went wrong decides the HTTP status and the CLI's exit
// status (2 for the caller's mistake, 1 for a failure).
const (
	KindInvalid  = "invalid"   // bad input: fix the request
	KindNotFound = "not_found" // no such fleet, service or instance
	KindConflict = "conflict"  // the state forbids it now (going down, busy)
	KindFailed   = "failed"    // the daemon tried and failed
	KindDenied   = "denied"    // no or a wrong token on the TCP listener
)

// Error is the body of every non-2xx answer.
type Error struct {
	Kind    string `json:"kind"`
	Message string `json:"error"`
}

func (e *Error) Error() string { return e.Message }

// Status is the HTTP status for the error's kind.
func (e *Error) Status() int {
	switch e.Kind {
	case KindInvalid:
		return http.StatusBadRequest
	case KindNotFound:
		return http.StatusNotFound
	case KindConflict:
		return http.StatusConflict
	case KindDenied:
		return http.StatusUnauthorized
	default:
		return http.StatusInternalServerError
	}
}

// BadInput reports whether err is the caller's mistake.
func BadInput(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Kind == KindInvalid || e.Kind == KindNotFound)
}

// Errorf-style constructors keep call sites short.

// Invalid is a bad-input error.
func Invalid(err error) *Error { return &Error{Kind: KindInvalid, Message: err.Error()} }

// NotFound is a missing-resource error.
func NotFound(err error) *Error { return &Error{Kind: KindNotFound, Message: err.Error()} }

// Conflict is a wrong-time error.
func Conflict(err error) *Error { return &Error{Kind: KindConflict, Message: err.Error()} }

// Failed is a failure.
func Failed(err error) *Error { return &Error{Kind: KindFailed, Message: err.Error()} }

// AsError finds the API error in err, making any other error a failure.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Failed(err)
}
