package awsapi

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"

	"github.com/vmfleet/vmfleet/pkg/awswire"
)

// documentWire is AWS JSON 1.0 or Smithy RPC v2 CBOR. The two carry the
// same tree of members (document.go) and the same error shape, a
// structure of __type and message; they differ in the tree's bytes, in
// where the operation is named and in a header or two, which is what a
// format says.
type documentWire struct{ format format }

// format is one document protocol's own part.
type format interface {
	// route reads the target prefix and operation from the request.
	route(r *http.Request) route
	marshal(tree any) ([]byte, error)
	unmarshal(body []byte) (any, error)
	contentType() string
	// headers sets the protocol's headers on an answer; errorType is
	// the __type of an error answer, "" on success.
	headers(h http.Header, errorType string)
}

// malformedError is a body that is not a document of the protocol.
type malformedError struct{ err error }

func (e *malformedError) Error() string { return e.err.Error() }

func (d documentWire) route(r *http.Request, body []byte) (route, error) {
	rt := d.format.route(r)
	rt.body = body
	return rt, nil
}

func (d documentWire) decode(rt route, _ *Service, _ awswire.Operation, h Handler) (any, error) {
	in := h.input()
	var tree any = map[string]any{}
	// An operation without input may be sent with no body at all.
	if len(rt.body) > 0 {
		t, err := d.format.unmarshal(rt.body)
		if err != nil {
			return nil, &malformedError{err}
		}
		tree = t
	}
	if _, ok := tree.(map[string]any); !ok {
		return nil, &malformedError{errors.New("the body is not a structure")}
	}
	if err := fromTree(tree, reflect.ValueOf(in).Elem(), ""); err != nil {
		return nil, err
	}
	return in, nil
}

func (d documentWire) answer(w http.ResponseWriter, _ *Service, op awswire.Operation, out any, _ string) error {
	tree, ok := toTree(reflect.ValueOf(out))
	if !ok {
		tree = map[string]any{}
	}
	body, err := d.format.marshal(tree)
	if err != nil {
		return fmt.Errorf("writing the %s answer: %w", op.Name, err)
	}
	d.format.headers(w.Header(), "")
	write(w, d.format.contentType(), http.StatusOK, body)
	return nil
}

func (d documentWire) fail(w http.ResponseWriter, svc *Service, err *Error, _ string) error {
	typ := err.Shape.Code
	if svc != nil && svc.Documents != nil {
		typ = svc.Documents.ErrorType(err.Shape.Code)
		if svc.Documents.QueryCompatible {
			fault := "Receiver"
			if err.Shape.Sender {
				fault = "Sender"
			}
			w.Header().Set("x-amzn-query-error", err.Shape.Code+";"+fault)
		}
	}
	body, merr := d.format.marshal(map[string]any{"__type": typ, "message": err.Message})
	d.format.headers(w.Header(), typ)
	write(w, d.format.contentType(), err.Shape.Status(), body)
	return merr
}

func (d documentWire) unknown(svc *Service, action string) *Error {
	if action == "" {
		return Errorf("UnknownOperationException", "The request names no operation.")
	}
	return Errorf("UnknownOperationException", "%s is not an operation of vmfleet's %s endpoint; the README lists the operations it serves.", action, svc.SigningName)
}
