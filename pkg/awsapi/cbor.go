package awsapi

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// cborFormat is Smithy RPC v2 CBOR: POST /service/TargetPrefix/operation/
// Operation with a CBOR body, timestamps as epoch seconds in tag 1, and
// the Smithy-Protocol header on both sides.
type cborFormat struct {
	enc cbor.EncMode
	dec cbor.DecMode
}

// cborWire is the RPC v2 CBOR protocol.
func cborWire() wire {
	enc, err := cbor.EncOptions{
		Time: cbor.TimeUnixDynamic, TimeTag: cbor.EncTagRequired,
		// The same answer in the same bytes, for tests and caches.
		Sort: cbor.SortBytewiseLexical,
	}.EncMode()
	if err != nil {
		panic(fmt.Sprintf("awsapi: CBOR encoding options: %v", err))
	}
	dec, err := cbor.DecOptions{DefaultMapType: reflect.TypeFor[map[string]any]()}.DecMode()
	if err != nil {
		panic(fmt.Sprintf("awsapi: CBOR decoding options: %v", err))
	}
	return documentWire{cborFormat{enc: enc, dec: dec}}
}

// rpcPath reads an RPC v2 path, which may sit under a prefix:
// .../service/{service}/operation/{operation}.
func rpcPath(path string) (service, operation string, ok bool) {
	i := strings.LastIndex(path, "/service/")
	if i < 0 {
		return "", "", false
	}
	service, operation, ok = strings.Cut(path[i+len("/service/"):], "/operation/")
	if !ok || service == "" || strings.Contains(service, "/") || strings.Contains(operation, "/") {
		return "", "", false
	}
	return service, operation, true
}

func (cborFormat) route(r *http.Request) route {
	service, operation, _ := rpcPath(r.URL.Path)
	return route{prefix: service, action: operation}
}

func (cborFormat) contentType() string { return "application/cbor" }

func (cborFormat) headers(h http.Header, _ string) { h.Set("Smithy-Protocol", "rpc-v2-cbor") }

func (f cborFormat) unmarshal(body []byte) (any, error) {
	var tree any
	if err := f.dec.Unmarshal(body, &tree); err != nil {
		return nil, fmt.Errorf("the body is not CBOR: %w", err)
	}
	return tree, nil
}

func (f cborFormat) marshal(tree any) ([]byte, error) { return f.enc.Marshal(tree) }
