package main

import (
	"fmt"
	"sort"
)

// modeledError is one error shape an operation declares.
type modeledError struct {
	shape string
	code  string
	info  *errorInfo
}

// errorsOf is the selected operations' declared errors, one per code,
// sorted by code.
func (g *generator) errorsOf() []modeledError {
	byCode := map[string]modeledError{}
	for _, op := range g.ops {
		for _, ref := range op.Errors {
			e := g.modeledError(ref.Shape)
			if _, ok := byCode[e.code]; !ok {
				byCode[e.code] = e
			}
		}
	}
	out := make([]modeledError, 0, len(byCode))
	for _, e := range byCode {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].code < out[j].code })
	return out
}

// modeledError reads an error shape's code from its "error" trait; a
// shape without one is sent with its own name as the code.
func (g *generator) modeledError(shapeName string) modeledError {
	s := g.m.Shapes[shapeName]
	e := modeledError{shape: shapeName, code: shapeName, info: s.Error}
	if s.Error != nil && s.Error.Code != "" {
		e.code = s.Error.Code
	}
	return e
}

func (g *generator) emitErrors() {
	errs := g.errorsOf()
	if len(errs) > 0 {
		g.printf("// The codes of the errors the model declares for the generated\n")
		g.printf("// operations, named after their error shapes.\n")
		g.printf("const (\n")
		for _, e := range errs {
			g.printf("ErrCode%s = %q\n", exported(e.shape), e.code)
		}
		g.printf(")\n\n")
	}
	g.printf("// ModeledError is the error the model declares with the given code, with\n")
	g.printf("// the HTTP status and fault its \"error\" trait gives; false for codes the\n")
	g.printf("// model does not declare for these operations (the common errors such as\n")
	g.printf("// ValidationError: build those with awswire.ClientError).\n")
	g.printf("func ModeledError(code string) (awswire.ErrorShape, bool) {\n")
	g.emitCodeSwitch(errs, func(e modeledError) string {
		status, sender := 0, false
		if e.info != nil {
			status, sender = e.info.HTTPStatusCode, e.info.SenderFault
		}
		return fmt.Sprintf("awswire.ErrorShape{Code: code, HTTPStatus: %d, Sender: %t}, true", status, sender)
	})
	g.printf("return awswire.ErrorShape{}, false\n}\n\n")
	if g.documents {
		g.emitErrorType(errs)
	}
	g.printf("// EncodeError writes an error answer in this service's envelope; send it\n")
	g.printf("// with shape.Status() as the HTTP status.\n")
	g.printf("func EncodeError(w io.Writer, shape awswire.ErrorShape, message, requestID string) error {\n")
	if g.proto == ec2Protocol {
		g.printf("return awswire.EncodeEC2Error(w, shape, message, requestID)\n}\n\n")
	} else {
		g.printf("return awswire.EncodeQueryError(w, xmlNamespace, shape, message, requestID)\n}\n\n")
	}
}

// emitCodeSwitch writes a switch on code with a case for each declared
// error, returning what ret gives.
func (g *generator) emitCodeSwitch(errs []modeledError, ret func(modeledError) string) {
	if len(errs) == 0 {
		return
	}
	g.printf("switch code {\n")
	for _, e := range errs {
		g.printf("case ErrCode%s:\nreturn %s\n", exported(e.shape), ret(e))
	}
	g.printf("}\n")
}

// docURL is the operation's reference page: the model's documentationUrl
// when it has one, else AWS's "goto" link built from the model's uid,
// which is how AWS's own SDKs link each operation to its page.
func (g *generator) docURL(op *operation) string {
	if op.DocumentationURL != "" {
		return op.DocumentationURL
	}
	if g.m.Metadata.UID == "" {
		return ""
	}
	return "https://docs.aws.amazon.com/goto/WebAPI/" + g.m.Metadata.UID + "/" + op.Name
}

func (g *generator) emitTable() {
	g.printf("// Operations is the table of the generated operations by Action name. It\n")
	g.printf("// is built anew at each call, so a caller may keep and change its copy.\n")
	g.printf("func Operations() map[string]awswire.Operation {\n")
	g.printf("return map[string]awswire.Operation{\n")
	for _, op := range g.ops {
		g.printf("%q: {\n", op.Name)
		g.printf("Name: %q,\nHTTPMethod: %q,\nDocURL: %q,\n", op.Name, firstOf(op.HTTP.Method, "POST"), g.docURL(op))
		if len(op.Errors) > 0 {
			g.printf("Errors: []string{")
			for _, ref := range op.Errors {
				g.printf("ErrCode%s, ", exported(ref.Shape))
			}
			g.printf("},\n")
		}
		g.printf("Decode: func(params url.Values) (any, error) {\n")
		g.printf("in, err := Decode%sInput(params)\nif err != nil {\nreturn nil, err\n}\nreturn in, nil\n},\n", op.Name)
		g.printf("Encode: func(w io.Writer, out any, requestID string) error {\n")
		g.printf("o, ok := out.(*%sOutput)\n", op.Name)
		g.printf("if !ok {\nreturn &awswire.WrongOutputError{Operation: %q, Got: out}\n}\n", op.Name)
		g.printf("return Encode%sResponse(w, o, requestID)\n},\n", op.Name)
		g.printf("},\n")
	}
	g.printf("}\n}\n")
}
