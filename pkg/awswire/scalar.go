package awswire

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The parse functions read a scalar as the query and EC2 protocols send
// it; the Format functions write one as AWS's XML answers carry it. They
// are passed to Opt, Req and OptText by the generated code.

// ParseString accepts any value, the empty string included.
func ParseString(s string) (string, error) { return s, nil }

// ParseInt32 reads a model "integer".
func ParseInt32(s string) (int32, error) {
	n, err := strconv.ParseInt(s, 10, 32)
	return int32(n), err
}

// ParseInt64 reads a model "long".
func ParseInt64(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }

// ParseFloat64 reads a model "double"; botocore and the Go SDK write
// "NaN", "Infinity" and "-Infinity" for the special values.
func ParseFloat64(s string) (float64, error) {
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	return strconv.ParseFloat(s, 64)
}

// ParseFloat32 reads a model "float".
func ParseFloat32(s string) (float32, error) {
	f, err := ParseFloat64(s)
	return float32(f), err
}

// ParseBool reads "true" or "false", as every client sends them; AWS
// itself is lenient about case, so this is too.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errors.New("not true or false")
}

// ParseTime reads an ISO 8601 timestamp (zone-less ones are UTC) or
// seconds since the epoch, and returns it in UTC.
func ParseTime(s string) (time.Time, error) {
	// What clients send: botocore writes ISO 8601 with "Z" and, only when
	// there are microseconds, a fraction; the Go SDK writes milliseconds;
	// people typing --start-time write what they like, and botocore passes
	// an offset on as given.
	layouts := [...]string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05",
		"2006-01-02T15:04",
		"2006-01-02",
	}
	for _, layout := range layouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		whole, frac := math.Modf(secs)
		return time.Unix(int64(whole), int64(frac*1e9)).UTC(), nil
	}
	return time.Time{}, errors.New("not an ISO 8601 timestamp")
}

// ParseBlob reads a base64 blob.
func ParseBlob(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

// FormatString is the identity; it exists so strings go through the same
// generated call as every other scalar.
func FormatString(s string) string { return s }

// FormatInt32 writes a model "integer".
func FormatInt32(n int32) string { return strconv.FormatInt(int64(n), 10) }

// FormatInt64 writes a model "long".
func FormatInt64(n int64) string { return strconv.FormatInt(n, 10) }

// FormatFloat64 writes a model "double" in plain decimal where that is
// short, as AWS does ("0.5", "100.0" comes out as "100"), with an exponent
// only for very large or small magnitudes. Every SDK reads both.
func FormatFloat64(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.FormatFloat(f, 'E', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// FormatFloat32 writes a model "float".
func FormatFloat32(f float32) string { return FormatFloat64(float64(f)) }

// FormatBool writes "true" or "false".
func FormatBool(b bool) string { return strconv.FormatBool(b) }

// FormatTime writes ISO 8601 in UTC with milliseconds, as AWS's XML
// answers do (2024-05-01T12:00:00.000Z).
func FormatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// FormatBlob writes a blob as base64.
func FormatBlob(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// MissingParameterError is a required member that the request did not
// give. Param is its full wire name, e.g. "LaunchTemplateData.ImageId" or
// "Tags.member.2.Key", which is what AWS names in its messages.
type MissingParameterError struct {
	Param string
}

func (e *MissingParameterError) Error() string {
	return fmt.Sprintf("missing required parameter %s", e.Param)
}

// InvalidParameterError is a parameter whose value does not parse as its
// model type (an integer that is not a number, a bad timestamp...).
type InvalidParameterError struct {
	Param string
	Value string
	Err   error
}

func (e *InvalidParameterError) Error() string {
	return fmt.Sprintf("invalid value %q for parameter %s: %v", e.Value, e.Param, e.Err)
}

func (e *InvalidParameterError) Unwrap() error { return e.Err }

// Value is *p, or T's zero value for nil: an optional member read as AWS
// reads an absent one. (new(v) makes the pointer the other way.)
func Value[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}
