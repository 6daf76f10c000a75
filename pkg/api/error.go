package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"syscall"
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
	// cause keeps the chain, so Classify sees a full disk under a kind
	// a call site chose for the whole operation.
	cause error
}

func (e *Error) Error() string { return e.Message }

func (e *Error) Unwrap() error { return e.cause }

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
	if err == nil {
		return false
	}
	k := Classify(err).Kind
	return k == KindInvalid || k == KindNotFound
}

// Errorf-style constructors keep call sites short.

// Invalid is a bad-input error.
func Invalid(err error) *Error { return &Error{Kind: KindInvalid, Message: err.Error(), cause: err} }

// NotFound is a missing-resource error.
func NotFound(err error) *Error { return &Error{Kind: KindNotFound, Message: err.Error(), cause: err} }

// Conflict is a wrong-time error.
func Conflict(err error) *Error { return &Error{Kind: KindConflict, Message: err.Error(), cause: err} }

// Failed is a failure.
func Failed(err error) *Error { return &Error{Kind: KindFailed, Message: err.Error(), cause: err} }

// Classify is the one place that decides an error's kind, and with it the
// HTTP status and the CLI's exit status. A call site's kind stands, but no
// input is bad because the machine ran out of disk or an operation was cut
// short: those are failures wherever they happen. Any other error is a
// failure. The message is the API error's own, or err's.
func Classify(err error) *Error {
	if err == nil {
		return nil
	}
	out := &Error{Kind: KindFailed, Message: err.Error(), cause: err}
	var e *Error
	if errors.As(err, &e) {
		out.Kind, out.Message = e.Kind, e.Message
	}
	if DiskFull(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		out.Kind = KindFailed
	}
	return out
}

// DiskFull says whether err is the disk or a quota running out: as an
// errno, or as the text a tool (qemu-img, tar) printed for it.
func DiskFull(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "no space left on device") || strings.Contains(msg, "disk quota exceeded")
}
