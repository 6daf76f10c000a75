package awsapi

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vmfleet/vmfleet/pkg/awswire"
)

// wire is one protocol a request can come in: how it names its service
// and operation, how its input is read and how its answer and errors are
// written. Clients pick it, not services: one CloudWatch is asked in
// query by older clients, in JSON 1.0 by the AWS CLI and in RPC v2 CBOR
// by the Go SDK.
type wire interface {
	// route reads what names the service and the operation; an error
	// is a query request whose parameters do not parse.
	route(r *http.Request, body []byte) (route, error)
	// decode makes the operation's input from the request.
	decode(rt route, svc *Service, op awswire.Operation, h Handler) (any, error)
	// answer writes the operation's output.
	answer(w http.ResponseWriter, svc *Service, op awswire.Operation, out any, requestID string) error
	// fail writes an error; svc is nil when the request's service is
	// not known. An error encoding it is returned, the status and what
	// was written of the body still sent.
	fail(w http.ResponseWriter, svc *Service, err *Error, requestID string) error
	// unknown is the error of an operation not served.
	unknown(svc *Service, action string) *Error
}

// route is what a request names: its operation, and what its service is
// told apart by (the query protocols' Version, the others' target prefix).
type route struct {
	action  string
	version string
	prefix  string
	params  url.Values // the query protocols'
	body    []byte     // the JSON and CBOR protocols'
}

// wireOf tells a request's protocol by how it is sent: RPC v2 by its
// path, JSON 1.0 by its target or content type, else the query protocol.
func (e *Endpoint) wireOf(r *http.Request) wire {
	if _, _, ok := rpcPath(r.URL.Path); ok {
		return e.cbor
	}
	ct := mediaType(r)
	if version, ok := strings.CutPrefix(ct, "application/x-amz-json-"); ok {
		return jsonWire(version)
	}
	if r.Header.Get("X-Amz-Target") != "" {
		return jsonWire("1.0")
	}
	return queryWire{}
}

func mediaType(r *http.Request) string {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return ct
}

// queryWire is the query protocol and EC2's dialect of it: form
// parameters in, XML out.
type queryWire struct{}

func (queryWire) route(r *http.Request, body []byte) (route, error) {
	params, err := requestParams(r, body)
	return route{action: params.Get("Action"), version: params.Get("Version"), params: params}, err
}

func (queryWire) decode(rt route, _ *Service, op awswire.Operation, _ Handler) (any, error) {
	return op.Decode(rt.params)
}

func (queryWire) answer(w http.ResponseWriter, _ *Service, op awswire.Operation, out any, requestID string) error {
	var buf bytes.Buffer
	if err := op.Encode(&buf, out, requestID); err != nil {
		return err
	}
	write(w, "text/xml", http.StatusOK, buf.Bytes())
	return nil
}

func (queryWire) fail(w http.ResponseWriter, svc *Service, err *Error, requestID string) error {
	encode := func(w *bytes.Buffer, shape awswire.ErrorShape, message, requestID string) error {
		return awswire.EncodeQueryError(w, "https://sts.amazonaws.com/doc/2011-06-15/", shape, message, requestID)
	}
	if svc != nil {
		encode = func(w *bytes.Buffer, shape awswire.ErrorShape, message, requestID string) error {
			return svc.EncodeError(w, shape, message, requestID)
		}
	}
	var buf bytes.Buffer
	werr := encode(&buf, err.Shape, err.Message, requestID)
	write(w, "text/xml", err.Shape.Status(), buf.Bytes())
	return werr
}

func (queryWire) unknown(svc *Service, action string) *Error {
	if action == "" {
		return Errorf("MissingAction", "The request must contain the parameter Action")
	}
	return Errorf("InvalidAction", "The action %s is not valid for this web service (vmfleet's %s endpoint); the README lists the operations it serves.", action, svc.SigningName)
}

// write sends a whole answer.
func write(w http.ResponseWriter, contentType string, status int, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// requestParams is the query string and, for a form body, its fields.
func requestParams(r *http.Request, body []byte) (url.Values, error) {
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return url.Values{}, fmt.Errorf("the query string does not parse: %w", err)
	}
	ct := mediaType(r)
	if len(body) == 0 || (ct != "" && ct != "application/x-www-form-urlencoded") {
		return params, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return params, fmt.Errorf("the form body does not parse: %w", err)
	}
	for k, vs := range form {
		params[k] = append(params[k], vs...)
	}
	return params, nil
}
