// Package awswiretest runs the generated codecs against real AWS clients
// in tests: a local endpoint that hands each request's parameters to the
// test, and aws-sdk-go-v2 configuration pointing at it.
package awswiretest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
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
// a fixed region, no retries (a failing answer fails the test at once).
func Config(url string) aws.Config {
	return aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint:     aws.String(url),
		RetryMaxAttempts: 1,
	}
}

// Fail answers with a 500, for a handler whose encoder failed.
func Fail(t testing.TB, w http.ResponseWriter, err error) {
	t.Errorf("encoding the answer: %v", err)
	http.Error(w, err.Error(), http.StatusInternalServerError)
}
