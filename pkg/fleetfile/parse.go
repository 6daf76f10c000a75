package fleetfile

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vmfleet/vmfleet/pkg/limits"
)

// Load reads the fleet file at path and parses it. Relative paths in the
// file resolve against the file's directory, made absolute. Errors from
// the file's content are *Error values (see Errors) naming path as given.
func Load(path string, opts ...Option) (*Fleet, error) {
	src := newSources(opts)
	data, err := src.readFile(path)
	if err != nil {
		return nil, fmt.Errorf("read fleet file: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("resolve fleet file path: %w", err)
	}
	return parse(path, filepath.Dir(abs), data, src)
}

// Parse parses and validates a fleet file's content; filename is used in
// error messages and to resolve relative paths. The only I/O Parse does
// is reading the env files the content names (see WithReadFile), so it
// does not make a relative filename absolute: paths in the result are
// absolute only when filename is (Load takes care of that).
//
// On failure Parse returns a nil Fleet and all problems found, joined,
// one *Error per line of output: the fleet file's by line, then those of
// env files.
func Parse(filename string, data []byte, opts ...Option) (*Fleet, error) {
	return parse(filename, filepath.Dir(filename), data, newSources(opts))
}

func parse(file, dir string, data []byte, src sources) (*Fleet, error) {
	p := &parser{file: file, dir: filepath.Clean(dir), src: src, envFiles: map[string]envFile{}}
	f := p.fleet(data)
	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b *Error) int {
			return cmp.Or(cmp.Compare(p.fileRank(a), p.fileRank(b)), strings.Compare(a.File, b.File),
				cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
		})
		errs := make([]error, len(p.errs))
		for i, e := range p.errs {
			errs[i] = e
		}
		return nil, errors.Join(errs...)
	}
	return f, nil
}

// parser collects errors while walking the YAML tree so that one run
// reports every problem rather than only the first.
type parser struct {
	file string
	dir  string
	src  sources
	// envFiles holds each env file read so far by resolved path, so one
	// shared by several services is read and reported once.
	envFiles map[string]envFile
	errs     []*Error
}

// fileRank puts the fleet file's errors before those of its env files.
func (p *parser) fileRank(e *Error) int {
	if e.File == p.file {
		return 0
	}
	return 1
}

func (p *parser) fail(n *yaml.Node, path, fix, format string, args ...any) {
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Column: col, Path: path, Msg: fmt.Sprintf(format, args...), Fix: fix})
}

func (p *parser) fleet(data []byte) *Fleet {
	root := p.document(data)
	if root == nil {
		return nil
	}
	f := &Fleet{File: p.file, Dir: p.dir, TimeScale: limits.DefaultTimeScale}
	if root.Kind != yaml.MappingNode {
		p.fail(root, "", "start the file with services:", "the file is %s, want a map with name and services", describe(root))
		return nil
	}
	fields, _ := p.fields(entry{key: root, val: root}, "", "", []string{"name", "time_scale", "services"}, nil)

	if e, ok := fields["name"]; ok {
		if name, ok := p.str(e, "name", "name: shop"); ok && p.checkName(e.val, "name", name) {
			f.Name = name
		}
	} else {
		f.Name = limits.SanitizeName(filepath.Base(p.dir))
		if f.Name == "" {
			p.fail(root, "name", "add name: shop", "no name given, and directory %q gives none", p.dir)
		}
	}

	if e, ok := fields["time_scale"]; ok {
		if v, ok := p.number(e, "time_scale", "0.05"); ok && p.within(e.val, "time_scale", "time_scale "+e.val.Value, limits.CheckTimeScale(v)) {
			f.TimeScale = v
		}
	}

	e, ok := fields["services"]
	if !ok {
		p.fail(root, "services", "add a services: map with at least one service", "the file has no services")
		return f
	}
	svcs, ok := p.entries(e, "services", "a map of service names to services", "")
	if !ok {
		return f
	}
	if len(svcs) == 0 {
		p.fail(e.key, "services", "add at least one service under services:", "the file has no services")
		return f
	}
	var nodes []serviceNodes
	declared := make(map[string]bool, len(svcs))
	for _, se := range svcs {
		name := se.key.Value
		declared[name] = true
		path := "services." + name
		if !p.checkName(se.key, path, name) {
			continue
		}
		s, n := p.service(name, se, path)
		if s != nil {
			f.Services = append(f.Services, s)
			nodes = append(nodes, n)
		}
	}
	p.checkFleet(f, nodes, declared)
	return f
}

// document decodes exactly one YAML document and returns its root, or nil
// after reporting why there is none.
func (p *parser) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.fail(&yaml.Node{Line: 1}, "", "add a services: map with at least one service", "the file is empty")
		} else {
			p.syntaxError(err)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		// The document node's own line is the end of the previous one;
		// its content is where the user sees the second document.
		at := &extra
		if len(extra.Content) > 0 {
			at = extra.Content[0]
		}
		p.fail(at, "", "keep one document, or split the fleet into several files", "the file holds more than one YAML document")
		return nil
	case !errors.Is(err, io.EOF):
		p.syntaxError(err)
		return nil
	}
	root := deref(&doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = deref(root.Content[0])
	}
	if root == nil || isNull(root) {
		p.fail(&yaml.Node{Line: 1}, "", "add a services: map with at least one service", "the file is empty")
		return nil
	}
	return root
}

// syntaxError turns yaml.v3's "yaml: line N: msg" into an *Error so that
// syntax errors look like every other error. yaml.v3 often gives the line
// where the enclosing block starts rather than the offending line; we
// have nothing better to offer.
func (p *parser) syntaxError(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, after, ok := strings.Cut(rest, ": "); ok {
			if n, convErr := strconv.Atoi(num); convErr == nil {
				line, msg = n, after
			}
		}
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Msg: "invalid YAML: " + msg})
}

// entry is one key/value pair of a mapping, with aliases already resolved.
type entry struct {
	key, val *yaml.Node
}

// entries returns e's value as a mapping's pairs, reporting a value that
// isn't a mapping (as "want"), keys that aren't plain scalars, and
// duplicate keys (keeping the first). ok is false if e is no mapping.
func (p *parser) entries(e entry, path, want, example string) (list []entry, ok bool) {
	n := e.val
	if n.Kind != yaml.MappingNode {
		p.wrongType(e, path, want, example)
		return nil, false
	}
	first := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k == nil || v == nil {
			continue
		}
		if k.ShortTag() == "!!merge" {
			p.fail(k, path, "write the keys out in full", "merge keys (<<) are not supported")
			continue
		}
		if k.Kind != yaml.ScalarNode || isNull(k) {
			p.fail(k, path, "use a plain name as the key", "a key is %s, want a name", describe(k))
			continue
		}
		if prev, dup := first[k.Value]; dup {
			p.fail(k, join(path, k.Value), "remove one of them", "key %q appears twice (first at line %d)", k.Value, prev.Line)
			continue
		}
		first[k.Value] = k
		list = append(list, entry{key: k, val: v})
	}
	return list, true
}

// fields is entries for a mapping with a fixed set of keys. Unknown keys
// are reported with the nearest known key as a suggestion; hint maps
// docker-compose spellings to ours. At the top level (path "") "x-" keys
// are ignored, as compose does, so they can hold anchors.
func (p *parser) fields(e entry, path, example string, known []string, hint func(string) string) (fields map[string]entry, ok bool) {
	out := map[string]entry{}
	list, ok := p.entries(e, path, "a map", example)
	if !ok {
		return out, false
	}
	for _, e := range list {
		k := e.key.Value
		switch {
		case slices.Contains(known, k):
			out[k] = e
		case path == "" && strings.HasPrefix(k, "x-"):
			// Extension keys exist to hold anchors; nothing to read.
		default:
			p.unknownKey(e.key, path, k, known, hint)
		}
	}
	return out, true
}

func (p *parser) unknownKey(k *yaml.Node, path, key string, known []string, hint func(string) string) {
	where := join(path, key)
	if hint != nil {
		if h := hint(key); h != "" {
			p.fail(k, where, "did you mean "+h+"?", "unknown key %q", key)
			return
		}
	}
	if c := closest(key, known); c != "" {
		p.fail(k, where, "did you mean "+c+"?", "unknown key %q", key)
		return
	}
	p.fail(k, where, "known keys here are "+strings.Join(known, ", "), "unknown key %q", key)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// deref follows YAML aliases to the anchored node.
func deref(n *yaml.Node) *yaml.Node {
	// The bound only guards against a malformed tree; yaml.v3 rejects
	// alias cycles itself.
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 64; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names a node's kind for "got X, want Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "empty"
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return n.Value
		}
		return strconv.Quote(n.Value)
	}
	return "not a value"
}
