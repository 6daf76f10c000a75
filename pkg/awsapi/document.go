package awsapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/vmfleet/vmfleet/pkg/awswire"
)

// The JSON 1.0 and RPC v2 CBOR protocols carry the same tree of members,
// named by their model names: a structure or map is an object of its
// members, a list an array. The generated structs say each member's name
// in an aws tag (`aws:"StartTime,required"`); this file turns a struct
// into such a tree and back, and json.go and cbor.go turn trees into
// bytes and back. In a tree, a struct or map is a map[string]any, a list
// a []any, a timestamp a time.Time, a blob a []byte; numbers are what
// the decoder gave (json.Number, int64, uint64, float64).

// field is one tagged member of a struct.
type field struct {
	index    int
	name     string
	required bool
}

// fields are t's tagged members.
func fields(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		tag, ok := t.Field(i).Tag.Lookup("aws")
		if !ok {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		out = append(out, field{index: i, name: name, required: opts == "required"})
	}
	return out
}

var timeType = reflect.TypeFor[time.Time]()

// toTree is v as a tree, and false for a member left out: a nil pointer,
// slice or map. An empty slice or map is kept, so an answer's empty list
// reads as AWS's [] rather than as no list.
func toTree(v reflect.Value) (any, bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, false
		}
		return toTree(v.Elem())
	case reflect.Struct:
		if v.Type() == timeType {
			return v.Interface(), true
		}
		obj := map[string]any{}
		for _, f := range fields(v.Type()) {
			if member, ok := toTree(v.Field(f.index)); ok {
				obj[f.name] = member
			}
		}
		return obj, true
	case reflect.Slice:
		if v.IsNil() {
			return nil, false
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return v.Bytes(), true
		}
		list := make([]any, 0, v.Len())
		for i := range v.Len() {
			item, _ := toTree(v.Index(i))
			list = append(list, item)
		}
		return list, true
	case reflect.Map:
		if v.IsNil() {
			return nil, false
		}
		obj := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			obj[it.Key().String()], _ = toTree(it.Value())
		}
		return obj, true
	case reflect.String:
		return v.String(), true
	case reflect.Bool:
		return v.Bool(), true
	case reflect.Int32, reflect.Int64:
		return v.Int(), true
	case reflect.Float32, reflect.Float64:
		return v.Float(), true
	}
	panic(fmt.Sprintf("awsapi: no tree for a %s", v.Type()))
}

// fromTree fills dst, a settable value, from the tree v. param is the
// member's name in the query protocol's spelling (Dimensions.member.1.Name),
// so that a refusal names it as CloudWatch's messages do in every
// protocol. A required member missing is an
// *awswire.MissingParameterError, a value of the wrong kind an
// *awswire.InvalidParameterError.
func fromTree(v any, dst reflect.Value, param string) error {
	if dst.Kind() == reflect.Pointer {
		dst.Set(reflect.New(dst.Type().Elem()))
		return fromTree(v, dst.Elem(), param)
	}
	invalid := func(err error) error {
		return &awswire.InvalidParameterError{Param: param, Value: shown(v), Err: err}
	}
	switch {
	case dst.Type() == timeType:
		t, err := treeTime(v)
		if err != nil {
			return invalid(err)
		}
		dst.Set(reflect.ValueOf(t))
		return nil
	case dst.Kind() == reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return invalid(errors.New("not a structure"))
		}
		for _, f := range fields(dst.Type()) {
			member, ok := obj[f.name]
			if !ok || member == nil {
				if f.required {
					return &awswire.MissingParameterError{Param: join(param, f.name)}
				}
				continue
			}
			if err := fromTree(member, dst.Field(f.index), join(param, f.name)); err != nil {
				return err
			}
		}
		return nil
	case dst.Kind() == reflect.Slice && dst.Type().Elem().Kind() == reflect.Uint8:
		b, err := treeBlob(v)
		if err != nil {
			return invalid(err)
		}
		dst.SetBytes(b)
		return nil
	case dst.Kind() == reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			return invalid(errors.New("not a list"))
		}
		dst.Set(reflect.MakeSlice(dst.Type(), len(list), len(list)))
		for i, item := range list {
			if err := fromTree(item, dst.Index(i), param+".member."+strconv.Itoa(i+1)); err != nil {
				return err
			}
		}
		return nil
	case dst.Kind() == reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return invalid(errors.New("not a map"))
		}
		dst.Set(reflect.MakeMapWithSize(dst.Type(), len(obj)))
		for k, item := range obj {
			value := reflect.New(dst.Type().Elem()).Elem()
			if err := fromTree(item, value, param+"."+k); err != nil {
				return err
			}
			dst.SetMapIndex(reflect.ValueOf(k), value)
		}
		return nil
	}
	if err := setScalar(v, dst); err != nil {
		return invalid(err)
	}
	return nil
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// setScalar sets a string, boolean or number.
func setScalar(v any, dst reflect.Value) error {
	switch dst.Kind() {
	case reflect.String, reflect.Bool:
		// The tree's own string or bool: a json.Number is a string
		// kind too, and no string member's value.
		given := reflect.ValueOf(v)
		if !given.IsValid() || given.Type().Name() != dst.Kind().String() {
			return fmt.Errorf("not a %s", dst.Kind())
		}
		dst.Set(given.Convert(dst.Type()))
	case reflect.Int32, reflect.Int64:
		n, err := treeInt(v)
		if err != nil {
			return err
		}
		if dst.OverflowInt(n) {
			return errors.New("out of range")
		}
		dst.SetInt(n)
	case reflect.Float32, reflect.Float64:
		f, err := treeNumber(v)
		if err != nil {
			return err
		}
		dst.SetFloat(f)
	default:
		return fmt.Errorf("no member of kind %s", dst.Kind())
	}
	return nil
}

// treeNumber reads a number: JSON's, CBOR's, or the strings both
// protocols write for a double that is not finite.
func treeNumber(v any) (float64, error) {
	switch n := v.(type) {
	case json.Number:
		return strconv.ParseFloat(string(n), 64)
	case int64:
		return float64(n), nil
	case uint64:
		return float64(n), nil
	case float64:
		return n, nil
	case float32:
		return float64(n), nil
	case string:
		if f, err := awswire.ParseFloat64(n); err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
			return f, nil
		}
	}
	return 0, errors.New("not a number")
}

// treeInt reads a whole number, exactly: a long can hold more digits
// than a float64.
func treeInt(v any) (int64, error) {
	switch n := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			return i, nil
		}
	case int64:
		return n, nil
	case uint64:
		if n <= math.MaxInt64 {
			return int64(n), nil
		}
		return 0, errors.New("out of range")
	}
	// 6.0 and 6e1 are whole numbers too.
	f, err := treeNumber(v)
	if err != nil {
		return 0, err
	}
	if f != math.Trunc(f) || math.Abs(f) >= 1<<63 {
		return 0, errors.New("not a whole number in range")
	}
	return int64(f), nil
}

// treeTime reads a timestamp: seconds since the epoch, as JSON 1.0 sends
// them and CBOR inside tag 1 (which the decoder has made a time.Time).
func treeTime(v any) (time.Time, error) {
	if t, ok := v.(time.Time); ok {
		return t.UTC(), nil
	}
	secs, err := treeNumber(v)
	if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) {
		return time.Time{}, errors.New("not seconds since the epoch")
	}
	whole, frac := math.Modf(secs)
	// Milliseconds are what clients send; rounding to them keeps
	// 1714564800.123 from reading as .122999999.
	return time.Unix(int64(whole), int64(math.Round(frac*1e3))*int64(time.Millisecond)).UTC(), nil
}

// treeBlob reads a blob: base64 text in JSON, a byte string in CBOR.
func treeBlob(v any) ([]byte, error) {
	switch b := v.(type) {
	case []byte:
		return b, nil
	case string:
		return base64.StdEncoding.DecodeString(b)
	}
	return nil, errors.New("not a blob")
}

// shown is a tree value as a message quotes it.
func shown(v any) string {
	switch v.(type) {
	case map[string]any:
		return "{...}"
	case []any:
		return "[...]"
	}
	return fmt.Sprint(v)
}
