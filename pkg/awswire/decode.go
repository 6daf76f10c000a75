package awswire

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Decoder reads one query-protocol (or EC2-protocol) request's parameters.
//
// Generated decoders call it member by member and do not check errors at
// each step: the Decoder keeps the first error, and the generated entry
// point returns it once the whole shape is read. That keeps the generated
// code a flat list of assignments.
type Decoder struct {
	params url.Values
	err    error
}

// NewDecoder reads params, the merged query string and form body.
func NewDecoder(params url.Values) *Decoder {
	return &Decoder{params: params}
}

// Err is the first error met while decoding, or nil.
func (d *Decoder) Err() error { return d.err }

func (d *Decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// Missing records that the required parameter key was not given.
func (d *Decoder) Missing(key string) {
	d.fail(&MissingParameterError{Param: key})
}

// Value is the first value given for key, and whether key was given.
func (d *Decoder) Value(key string) (string, bool) {
	vs, ok := d.params[key]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// Present tells whether key, or anything nested under it, was given: a
// structure has no parameter of its own, only its members do.
func (d *Decoder) Present(key string) bool {
	if _, ok := d.params[key]; ok {
		return true
	}
	prefix := key + "."
	for k := range d.params {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// List finds the items of a list: itemBase.1, itemBase.2, ... (with
// anything nested under each), in index order, as the prefixes to decode
// each item from. key is the list's own parameter: the query protocol
// sends "key=" for an empty list, so a list given empty is told apart from
// a list not given (nil, false).
//
// Indexes need not be contiguous; they are sorted numerically, so
// Filter.10 comes after Filter.9.
func (d *Decoder) List(key, itemBase string) ([]string, bool) {
	indexes := d.indexes(itemBase)
	if len(indexes) == 0 {
		_, given := d.params[key]
		if given {
			return []string{}, true
		}
		return nil, false
	}
	items := make([]string, len(indexes))
	for i, n := range indexes {
		items[i] = itemBase + "." + strconv.Itoa(n)
	}
	return items, true
}

// indexes are the distinct positive integers N of the given keys
// base.N and base.N.*; keys whose N is not a positive integer are ignored
// (AWS would reject them; clients never send them).
func (d *Decoder) indexes(base string) []int {
	prefix := base + "."
	seen := map[int]bool{}
	for k := range d.params {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		if dot := strings.IndexByte(rest, '.'); dot >= 0 {
			rest = rest[:dot]
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n < 1 {
			continue
		}
		seen[n] = true
	}
	out := make([]int, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// Opt decodes an optional scalar: nil when key was not given.
func Opt[T any](d *Decoder, key string, parse func(string) (T, error)) *T {
	s, ok := d.Value(key)
	if !ok {
		return nil
	}
	v, err := parse(s)
	if err != nil {
		d.fail(&InvalidParameterError{Param: key, Value: s, Err: err})
		return nil
	}
	return &v
}

// Req decodes a required scalar, recording a MissingParameterError when
// key was not given.
func Req[T any](d *Decoder, key string, parse func(string) (T, error)) T {
	var zero T
	if _, ok := d.Value(key); !ok {
		d.Missing(key)
		return zero
	}
	if v := Opt(d, key, parse); v != nil {
		return *v
	}
	return zero
}

// Key joins a parameter prefix and a member's wire name; the top-level
// structure has the empty prefix.
func Key(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}
