package awsapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vmfleet/vmfleet/pkg/awswire"
)

// jsonFormat is AWS JSON 1.0 (and 1.1, which differs only in its
// content type): POST / with the operation in X-Amz-Target
// (TargetPrefix.Operation), timestamps as seconds since the epoch, blobs
// in base64, and doubles that are not finite as "NaN", "Infinity" and
// "-Infinity".
type jsonFormat struct{ version string }

// jsonWire is the JSON protocol of the given version ("1.0").
func jsonWire(version string) wire { return documentWire{jsonFormat{version}} }

func (jsonFormat) route(r *http.Request) route {
	target := r.Header.Get("X-Amz-Target")
	i := strings.LastIndexByte(target, '.')
	if i < 0 {
		return route{action: target}
	}
	return route{prefix: target[:i], action: target[i+1:]}
}

func (f jsonFormat) contentType() string { return "application/x-amz-json-" + f.version }

func (jsonFormat) headers(h http.Header, errorType string) {
	if errorType != "" {
		h.Set("X-Amzn-ErrorType", errorType)
	}
}

func (jsonFormat) unmarshal(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("the body is not JSON: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("the body holds more than one JSON value")
	}
	return tree, nil
}

func (jsonFormat) marshal(tree any) ([]byte, error) {
	return json.Marshal(jsonValue(tree))
}

// jsonValue is a tree as encoding/json should write it: timestamps as
// epoch seconds and doubles that JSON has no number for as strings.
// Blobs are []byte, which encoding/json writes in base64 itself.
func jsonValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			out[k] = jsonValue(item)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			out[i] = jsonValue(item)
		}
		return out
	case time.Time:
		return json.Number(epochSeconds(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return awswire.FormatFloat64(x) // "NaN", "Infinity", "-Infinity"
		}
	}
	return v
}

// epochSeconds is t in seconds since the epoch, whole when it is and
// with its milliseconds when not, as AWS writes timestamps in JSON.
func epochSeconds(t time.Time) string {
	ms := t.UnixMilli()
	if ms%1000 == 0 {
		return strconv.FormatInt(ms/1000, 10)
	}
	return strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)
}
