package main

import (
	"slices"
	"strconv"
	"strings"
)

// A service that also speaks AWS JSON 1.0 or Smithy RPC v2 CBOR (the
// model's protocols list them) gets what pkg/awsapi's document codec
// needs, and nothing it would have to hand-write per shape: each struct
// field tagged with its member's wire name (and whether it is required),
// the names that route its requests, and the type its errors name. The
// codec reads the tags by reflection: the two protocols lay out the same
// tree of members, so one tag serves both.

// speaksDocuments tells whether the model lists a JSON or CBOR protocol.
func speaksDocuments(md metadata) bool {
	return slices.Contains(md.Protocols, "json") || slices.Contains(md.Protocols, "smithy-rpc-v2-cbor")
}

// documentTag is a member's struct tag, `aws:"Name"` or
// `aws:"Name,required"`, with a leading space; "" for a service that
// speaks only the query protocols. JSON 1.0 and RPC v2 name members by
// their member names: locationName and queryName are the XML and query
// protocols' alone.
func (g *generator) documentTag(parent *shape, member string) string {
	if !g.documents {
		return ""
	}
	opts := ""
	if parent.isRequired(member) {
		opts = ",required"
	}
	return " `aws:\"" + member + opts + "\"`"
}

// emitDocumentConstants writes the names a JSON or CBOR request is routed by.
func (g *generator) emitDocumentConstants() {
	g.printf("// TargetPrefix is the model's metadata.targetPrefix: the service in a JSON\n")
	g.printf("// 1.0 request's X-Amz-Target (TargetPrefix.Operation) and in an RPC v2\n")
	g.printf("// CBOR request's path (/service/TargetPrefix/operation/Operation).\n")
	g.printf("const TargetPrefix = %q\n\n", g.m.Metadata.TargetPrefix)
	g.printf("// QueryCompatible is the model's awsQueryCompatible: the service moved off\n")
	g.printf("// the query protocol, and its JSON and CBOR errors still carry the query\n")
	g.printf("// code (x-amzn-query-error) that clients report.\n")
	g.printf("const QueryCompatible = %t\n\n", g.m.Metadata.AWSQueryCompatible != nil)
}

// smithyNamespace is the namespace of the service's shapes in AWS's
// Smithy models, which botocore's JSON does not carry: com.amazonaws and
// the service id in lower case without spaces (com.amazonaws.cloudwatch).
func (g *generator) smithyNamespace() string {
	return "com.amazonaws." + strings.ToLower(strings.ReplaceAll(g.m.Metadata.ServiceID, " ", ""))
}

// emitErrorType writes ErrorType, the __type of a JSON or CBOR error: the
// error shape's id for a code the model declares, for which clients make
// their modeled error types; the code itself for the common errors.
func (g *generator) emitErrorType(errs []modeledError) {
	g.printf("// ErrorType is the __type of a JSON or CBOR error answer with the given\n")
	g.printf("// code: the error shape's id for the codes the model declares, the code\n")
	g.printf("// itself for the common errors it does not.\n")
	g.printf("func ErrorType(code string) string {\n")
	g.emitCodeSwitch(errs, func(e modeledError) string { return strconv.Quote(g.smithyNamespace() + "#" + e.shape) })
	g.printf("return code\n}\n\n")
}
