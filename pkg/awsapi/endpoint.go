package awsapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/google/uuid"

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
	cbor     wire
}

// New serves services, each request checked by auth.
func New(auth *awsauth.Verifier, log *slog.Logger, services ...*Service) *Endpoint {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Endpoint{auth: auth, services: services, log: log, cbor: cborWire()}
}

// request is one request on its way through ServeHTTP.
type request struct {
	id     string
	wire   wire
	svc    *Service // nil until known
	action string
}

func (e *Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := &request{id: newRequestID(), wire: e.wireOf(r)}
	w.Header().Set("x-amzn-RequestId", req.id)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		e.fail(w, req, &Error{Shape: awswire.ErrorShape{Code: "RequestEntityTooLarge", HTTPStatus: http.StatusRequestEntityTooLarge, Sender: true},
			Message: fmt.Sprintf("Request body must be less than %d bytes", MaxBody)})
		return
	}
	rt, rerr := req.wire.route(r, body)
	// The signature is checked before anything of the request is acted
	// on, in every protocol.
	scope, err := e.auth.Verify(r, body)
	if err != nil {
		var ae *awsauth.Error
		if errors.As(err, &ae) {
			req.svc = e.service(scope.Service, req.wire, rt)
			e.fail(w, req, &Error{Shape: awswire.ErrorShape{Code: ae.Code, HTTPStatus: ae.Status, Sender: true}, Message: ae.Message})
			return
		}
		e.fail(w, req, Query.internal())
		return
	}
	req.svc = e.service(scope.Service, req.wire, rt)
	if req.svc == nil {
		e.fail(w, req, Errorf("UnknownService", "vmfleet does not serve the service %q (API version %q, target %q); it serves EC2, Auto Scaling, Elastic Load Balancing v2, CloudWatch and STS", scope.Service, rt.version, rt.prefix))
		return
	}
	if rerr != nil {
		e.fail(w, req, req.svc.Protocol.Invalid("%v", rerr))
		return
	}
	req.action = rt.action
	out, aerr := e.call(r.Context(), req, rt)
	if aerr != nil {
		e.fail(w, req, aerr)
		return
	}
	if err := req.wire.answer(w, req.svc, req.svc.Operations[req.action], out, req.id); err != nil {
		e.log.Error("encode an AWS answer", "action", req.action, "err", err)
		e.fail(w, req, req.svc.Protocol.internal())
		return
	}
	e.log.Debug("aws", "service", scope.Service, "action", req.action, "request", req.id)
}

// call decodes the request and runs its operation's handler.
func (e *Endpoint) call(ctx context.Context, req *request, rt route) (any, *Error) {
	svc := req.svc
	op, known := svc.Operations[req.action]
	handle, implemented := svc.Handlers[req.action]
	if !known || !implemented || (svc.Documents != nil && rt.prefix != "" && rt.prefix != svc.Documents.TargetPrefix) {
		return nil, req.wire.unknown(svc, req.action)
	}
	in, err := req.wire.decode(rt, svc, op, handle)
	if err != nil {
		var malformed *malformedError
		if errors.As(err, &malformed) {
			return nil, Errorf("SerializationException", "%v", malformed)
		}
		if svc.DecodeError != nil {
			return nil, svc.DecodeError(err)
		}
		return nil, svc.Protocol.decodeError(err)
	}
	if svc.Protocol == EC2 && rt.params.Get("DryRun") == "true" {
		return nil, &Error{Shape: awswire.ErrorShape{Code: "DryRunOperation", HTTPStatus: http.StatusPreconditionFailed, Sender: true},
			Message: "Request would have succeeded, but DryRun flag is set."}
	}
	out, err := handle.Call(ctx, in)
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

// service is the service a request is for, or nil. A JSON or CBOR
// request is placed by its target prefix when it has no scope; a query
// request whose scope could not be read (unsigned) by its Version alone,
// so that even its refusal comes in its service's envelope.
func (e *Endpoint) service(signingName string, w wire, rt route) *Service {
	if _, documents := w.(documentWire); documents {
		for _, s := range e.services {
			if s.Documents != nil && (s.SigningName == signingName || (signingName == "" && s.Documents.TargetPrefix == rt.prefix)) {
				return s
			}
		}
		return nil
	}
	var match *Service
	for _, s := range e.services {
		if s.SigningName != signingName && (signingName != "" || rt.version == "") {
			continue
		}
		if s.Version == rt.version {
			return s
		}
		if rt.version == "" && match == nil {
			match = s
		}
	}
	return match
}

// fail answers with err in the request's protocol, in its service's
// envelope when the service is known.
func (e *Endpoint) fail(w http.ResponseWriter, req *request, err *Error) {
	if werr := req.wire.fail(w, req.svc, err, req.id); werr != nil {
		e.log.Error("encode an AWS error", "err", werr)
	}
	e.log.Debug("aws refused", "action", req.action, "code", err.Shape.Code, "message", err.Message, "request", req.id)
}

// newRequestID is a UUID, as AWS's request ids are.
func newRequestID() string { return uuid.NewString() }
