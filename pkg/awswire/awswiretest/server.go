// Package awswiretest runs the generated codecs against real AWS clients
// in tests: a local endpoint that hands each request's parameters to the
// test, and aws-sdk-go-v2 configuration pointing at it.
package awswiretest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/vmfleet/vmfleet/pkg/awswire"
)

// Handler answers one request: params are its query string and form body
// merged, as a query-protocol server reads them.
type Handler func(w http.ResponseWriter, params url.Values)

// NewServer starts an endpoint on 127.0.0.1 that parses each request and
// passes it to handle; it stops when the test ends.
func NewServer(t testing.TB, handle Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("parsing the request form: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		handle(w, r.Form)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Config is an SDK configuration for talking to url: static credentials,
// a fixed region, and Retryer's retries.
func Config(url string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(url),
		Retryer:      Retryer,
	}
}

// Retryer retries what the SDK's default retryer retries of a broken
// connection, and nothing else, at once: a failing answer fails the test
// on its first try. The SDK closes a request's body early, and the
// transport then sometimes closes the connection under the answer being
// read ("use of closed network connection", aws-sdk-go-v2 #2737); its
// default retryer retries that, and so must the tests' clients.
func Retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	})
}

// Fail answers with a 500, for a handler whose encoder failed.
func Fail(t testing.TB, w http.ResponseWriter, err error) {
	t.Errorf("encoding the answer: %v", err)
	http.Error(w, err.Error(), http.StatusInternalServerError)
}

// Client is an SDK client of the service that newFromConfig makes (the
// service package's NewFromConfig), talking to a new server that handle
// answers.
func Client[C, O any](t testing.TB, handle Handler, newFromConfig func(aws.Config, ...func(*O)) C, optFns ...func(*O)) C {
	t.Helper()
	srv := NewServer(t, handle)
	return newFromConfig(Config(srv.URL), optFns...)
}

// ErrorEncoder is a service's generated EncodeError.
type ErrorEncoder func(w io.Writer, shape awswire.ErrorShape, message, requestID string) error

// AnswerError is a handler that answers every request with the error
// shape, in the envelope encode writes, with the shape's HTTP status.
func AnswerError(t testing.TB, encode ErrorEncoder, shape awswire.ErrorShape, message string) Handler {
	return func(w http.ResponseWriter, params url.Values) {
		var body bytes.Buffer
		if err := encode(&body, shape, message, "req-error"); err != nil {
			Fail(t, w, err)
			return
		}
		w.WriteHeader(shape.Status())
		if _, err := w.Write(body.Bytes()); err != nil {
			t.Errorf("writing the error answer: %v", err)
		}
	}
}

// Answer is a handler for one operation, the way the daemon will serve
// it: decode the request with the operation's generated decoder, hand the
// input (and the raw parameters, to check names on the wire) to respond,
// and write what respond returns with the generated encoder.
func Answer[I, O any](t testing.TB, decode func(url.Values) (*I, error), encode func(io.Writer, *O, string) error, respond func(params url.Values, in *I) *O) Handler {
	return func(w http.ResponseWriter, params url.Values) {
		in, err := decode(params)
		if err != nil {
			t.Errorf("decoding the %s request: %v", params.Get("Action"), err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := encode(w, respond(params, in), "req-1"); err != nil {
			Fail(t, w, err)
		}
	}
}
