package awsapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awsauth"
	"github.com/vmfleet/vmfleet/pkg/awswire"
)

// MaxBody bounds a request's body: the largest query request AWS takes
// is smaller (user data is at most 16 KiB before base64).
const MaxBody = 1 << 20

// Endpoint is the AWS endpoint's HTTP handler.
type Endpoint struct {
	auth     *awsauth.Verifier
	services []*Service
	log      *slog.Logger
}

// New serves services, each request checked by auth.
func New(auth *awsauth.Verifier, log *slog.Logger, services ...*Service) *Endpoint {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Endpoint{auth: auth, services: services, log: log}
}

// request is one request on its way through ServeHTTP.
type request struct {
	id     string
	svc    *Service // nil until known; errors before then use Query's envelope
	action string
}

func (e *Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := &request{id: newRequestID()}
	w.Header().Set("x-amzn-RequestId", req.id)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		e.fail(w, req, &Error{Shape: awswire.ErrorShape{Code: "RequestEntityTooLarge", HTTPStatus: http.StatusRequestEntityTooLarge, Sender: true},
			Message: fmt.Sprintf("Request body must be less than %d bytes", MaxBody)})
		return
	}
	params, perr := requestParams(r, body)
	scope, err := e.auth.Verify(r, body)
	if err != nil {
		var ae *awsauth.Error
		if errors.As(err, &ae) {
			req.svc = e.service(scope.Service, params.Get("Version"))
			e.fail(w, req, &Error{Shape: awswire.ErrorShape{Code: ae.Code, HTTPStatus: ae.Status, Sender: true}, Message: ae.Message})
			return
		}
		e.fail(w, req, Query.internal())
		return
	}
	req.svc = e.service(scope.Service, params.Get("Version"))
	if req.svc == nil {
		e.fail(w, req, Errorf("UnknownService", "vmfleet does not serve the service %q (API version %q); it serves EC2, Auto Scaling, Elastic Load Balancing v2, CloudWatch and STS", scope.Service, params.Get("Version")))
		return
	}
	if perr != nil {
		e.fail(w, req, req.svc.Protocol.Invalid("%v", perr))
		return
	}
	req.action = params.Get("Action")
	out, aerr := e.call(r.Context(), req, params)
	if aerr != nil {
		e.fail(w, req, aerr)
		return
	}
	var buf bytes.Buffer
	if err := req.svc.Operations[req.action].Encode(&buf, out, req.id); err != nil {
		e.log.Error("encode an AWS answer", "action", req.action, "err", err)
		e.fail(w, req, req.svc.Protocol.internal())
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
	e.log.Debug("aws", "service", scope.Service, "action", req.action, "request", req.id)
}

// call decodes the request and runs its operation's handler.
func (e *Endpoint) call(ctx context.Context, req *request, params url.Values) (any, *Error) {
	svc := req.svc
	if req.action == "" {
		return nil, Errorf("MissingAction", "The request must contain the parameter Action")
	}
	op, known := svc.Operations[req.action]
	handle, implemented := svc.Handlers[req.action]
	if !known || !implemented {
		return nil, Errorf("InvalidAction", "The action %s is not valid for this web service (vmfleet's %s endpoint); the README lists the operations it serves.", req.action, svc.SigningName)
	}
	in, err := op.Decode(params)
	if err != nil {
		return nil, svc.Protocol.decodeError(err)
	}
	if svc.Protocol == EC2 && params.Get("DryRun") == "true" {
		return nil, &Error{Shape: awswire.ErrorShape{Code: "DryRunOperation", HTTPStatus: http.StatusPreconditionFailed, Sender: true},
			Message: "Request would have succeeded, but DryRun flag is set."}
	}
	out, err := handle(ctx, in)
	if err != nil {
		var ae *Error
		if errors.As(err, &ae) {
			return nil, ae
		}
		// The daemon's refusals (a bad count, a group going down) are
		// the caller's to fix, and say how.
		var de *api.Error
		if errors.As(err, &de) && de.Kind != api.KindFailed {
			return nil, svc.Protocol.Invalid("%s", de.Message)
		}
		e.log.Error("AWS operation", "action", req.action, "request", req.id, "err", err)
		return nil, svc.Protocol.internal()
	}
	return out, nil
}

// service is the service a request is for, or nil. A request whose
// scope could not be read (unsigned) is placed by its Version alone, so
// that even its refusal comes in its service's envelope.
func (e *Endpoint) service(signingName, version string) *Service {
	var match *Service
	for _, s := range e.services {
		if s.SigningName != signingName && (signingName != "" || version == "") {
			continue
		}
		if s.Version == version {
			return s
		}
		if version == "" && match == nil {
			match = s
		}
	}
	return match
}

// fail answers with err in the envelope of the request's service.
func (e *Endpoint) fail(w http.ResponseWriter, req *request, err *Error) {
	encode := func(w io.Writer, shape awswire.ErrorShape, message, requestID string) error {
		return awswire.EncodeQueryError(w, "https://sts.amazonaws.com/doc/2011-06-15/", shape, message, requestID)
	}
	if req.svc != nil {
		encode = req.svc.EncodeError
	}
	var buf bytes.Buffer
	if werr := encode(&buf, err.Shape, err.Message, req.id); werr != nil {
		e.log.Error("encode an AWS error", "err", werr)
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(err.Shape.Status())
	w.Write(buf.Bytes())
	e.log.Debug("aws refused", "action", req.action, "code", err.Shape.Code, "message", err.Message, "request", req.id)
}

// requestParams is the query string and, for a form body, its fields.
func requestParams(r *http.Request, body []byte) (url.Values, error) {
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return url.Values{}, fmt.Errorf("the query string does not parse: %w", err)
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
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

// newRequestID is a UUID, as AWS's request ids are.
func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
