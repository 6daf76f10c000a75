package main

import (
	"bytes"
	"fmt"
	"go/format"
	"slices"
	"sort"
	"strings"
)

// protocol is how a service's requests and answers are laid out: the
// query protocol (Auto Scaling, ELBv2, CloudWatch, STS) or EC2's variant
// of it, which names parameters differently and never wraps lists.
type protocol int

const (
	queryProtocol protocol = iota
	ec2Protocol
)

// generator turns one model and a selection of its operations into one Go
// file. Only shapes reachable from the selected operations are emitted,
// so the output stays as small as the API the daemon serves.
type generator struct {
	m      *model
	pkg    string
	source string // the model's path as given, for the header
	proto  protocol
	ops    []*operation
	// documents: the service also speaks AWS JSON 1.0 or Smithy RPC v2
	// CBOR, whose codec (in pkg/awsapi) reads the structs' aws tags.
	documents bool

	// inputs and outputs are the structure, list and map shapes reachable
	// from the selected operations' inputs and outputs: the first get
	// decoders, the second encoders, both get types.
	inputs, outputs map[string]bool

	buf bytes.Buffer
}

// generate emits the codecs of the operations named in ops.
func generate(m *model, pkg, source string, ops []string) ([]byte, error) {
	g := &generator{m: m, pkg: pkg, source: source, inputs: map[string]bool{}, outputs: map[string]bool{}}
	switch m.Metadata.Protocol {
	case "ec2":
		g.proto = ec2Protocol
	default:
		// CloudWatch's model names CBOR first but still lists query,
		// which is what the daemon speaks to query clients; its JSON and
		// CBOR clients are served through the tags and constants of
		// emit_documents.go.
		g.proto = queryProtocol
	}
	g.documents = speaksDocuments(m.Metadata)
	for _, name := range ops {
		op, ok := m.Operations[name]
		if !ok {
			return nil, fmt.Errorf("operation %s is not in the model", name)
		}
		g.ops = append(g.ops, op)
		if op.Input != nil {
			if err := g.walk(op.Input.Shape, g.inputs); err != nil {
				return nil, fmt.Errorf("operation %s input: %w", name, err)
			}
		}
		if op.Output != nil {
			if err := g.walk(op.Output.Shape, g.outputs); err != nil {
				return nil, fmt.Errorf("operation %s output: %w", name, err)
			}
		}
	}
	if err := g.checkNames(); err != nil {
		return nil, err
	}
	g.emitHeader()
	g.emitOperations()
	g.emitTypes()
	g.emitDecoders()
	g.emitEncoders()
	g.emitErrors()
	g.emitTable()
	src, err := format.Source(g.buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting the generated code: %w", err)
	}
	return src, nil
}

// walk marks name and the composite shapes under it as reachable.
func (g *generator) walk(name string, seen map[string]bool) error {
	s, ok := g.m.Shapes[name]
	if !ok {
		return fmt.Errorf("shape %s is not in the model", name)
	}
	if _, isScalar := scalarOf(s.Type); isScalar {
		return nil
	}
	if seen[name] {
		return nil
	}
	seen[name] = true
	var refs []*shapeRef
	switch s.Type {
	case "structure":
		for _, n := range s.Members.names {
			if r := s.Members.refs[n]; r.Flattened {
				return fmt.Errorf("%s.%s: member-level flattened is not supported", name, n)
			}
			refs = append(refs, s.Members.refs[n])
		}
	case "list":
		refs = append(refs, s.Member)
	case "map":
		if k := g.m.Shapes[s.Key.Shape]; k == nil || k.Type != "string" {
			return fmt.Errorf("map %s: only string keys are supported", name)
		}
		refs = append(refs, s.Key, s.Value)
	default:
		return fmt.Errorf("shape %s has type %s, which the query protocols do not carry", name, s.Type)
	}
	for _, r := range refs {
		if err := g.walk(r.Shape, seen); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// scalar is how one model scalar type maps to Go and to the runtime's
// parse and format functions.
type scalar struct{ goType, parse, format string }

// scalarOf is the mapping of a model scalar type, and false for
// structures, lists and maps. Enums are strings with a list of allowed
// values, which the codecs do not check: that is the service's business.
func scalarOf(typ string) (scalar, bool) {
	switch typ {
	case "string":
		return scalar{"string", "awswire.ParseString", "awswire.FormatString"}, true
	case "integer":
		return scalar{"int32", "awswire.ParseInt32", "awswire.FormatInt32"}, true
	case "long":
		return scalar{"int64", "awswire.ParseInt64", "awswire.FormatInt64"}, true
	case "double":
		return scalar{"float64", "awswire.ParseFloat64", "awswire.FormatFloat64"}, true
	case "float":
		return scalar{"float32", "awswire.ParseFloat32", "awswire.FormatFloat32"}, true
	case "boolean":
		return scalar{"bool", "awswire.ParseBool", "awswire.FormatBool"}, true
	case "timestamp":
		return scalar{"time.Time", "awswire.ParseTime", "awswire.FormatTime"}, true
	case "blob":
		return scalar{"[]byte", "awswire.ParseBlob", "awswire.FormatBlob"}, true
	}
	return scalar{}, false
}

// typed is the sorted names of the shapes that get a Go type: the
// structures among the reachable shapes.
func (g *generator) typed() []string {
	var out []string
	for name := range union(g.inputs, g.outputs) {
		if g.m.Shapes[name].Type == "structure" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func union(a, b map[string]bool) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// emitEach calls, in shape-name order, the emitter of each shape's kind.
func (g *generator) emitEach(set map[string]bool, structure, list, mapOf func(string, *shape)) {
	for _, name := range sortedKeys(set) {
		s := g.m.Shapes[name]
		switch s.Type {
		case "structure":
			structure(name, s)
		case "list":
			list(name, s)
		case "map":
			mapOf(name, s)
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// exported is a model name as a Go identifier: shape names such as STS's
// "userIdType" start in lower case, and a few carry characters Go
// identifiers cannot.
func exported(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r == '_' || r == '-' || r == '.' {
			continue
		}
		b.WriteRune(r)
	}
	s := b.String()
	return strings.ToUpper(s[:1]) + s[1:]
}

// goType is the Go type of a value of the named shape.
func (g *generator) goType(name string) string {
	s := g.m.Shapes[name]
	switch s.Type {
	case "structure":
		return exported(name)
	case "list":
		return "[]" + g.goType(s.Member.Shape)
	case "map":
		return "map[string]" + g.goType(s.Value.Shape)
	}
	sc, _ := scalarOf(s.Type)
	return sc.goType
}

// fieldType is the Go type of a structure member: optional scalars and all
// structures are pointers, so "not given" is nil and never a zero value.
func (g *generator) fieldType(parent *shape, member string) string {
	ref := parent.Members.refs[member]
	s := g.m.Shapes[ref.Shape]
	switch {
	case s.Type == "structure":
		return "*" + g.goType(ref.Shape)
	case s.Type == "list" || s.Type == "map":
		return g.goType(ref.Shape)
	case parent.isRequired(member):
		return g.goType(ref.Shape)
	}
	return "*" + g.goType(ref.Shape)
}

// checkNames fails when two generated identifiers would clash: two
// shapes that differ only in characters exported drops, or a shape named
// like another operation's Input or Output alias.
func (g *generator) checkNames() error {
	owner := map[string]string{}
	claim := func(ident, by string) error {
		if prev, ok := owner[ident]; ok && prev != by {
			return fmt.Errorf("generated name %s is claimed by both %s and %s", ident, prev, by)
		}
		owner[ident] = by
		return nil
	}
	for _, name := range g.typed() {
		if err := claim(exported(name), "shape "+name); err != nil {
			return err
		}
	}
	for _, op := range g.ops {
		for _, a := range []struct {
			suffix string
			ref    *shapeRef
		}{{"Input", op.Input}, {"Output", op.Output}} {
			by := "operation " + op.Name + " " + a.suffix
			if a.ref != nil {
				by = "shape " + a.ref.Shape
			}
			if err := claim(op.Name+a.suffix, by); err != nil {
				return err
			}
		}
	}
	return nil
}

func (g *generator) printf(format string, args ...any) {
	fmt.Fprintf(&g.buf, format, args...)
}

func (g *generator) emitHeader() {
	g.printf("// Code generated by tools/awsgen from %s; DO NOT EDIT.\n\n", g.source)
	g.printf("package %s\n\n", g.pkg)
	imports := []string{"io", "net/url", "fmt"}
	if g.usesTime() {
		imports = append(imports, "time")
	}
	if g.usesSortedKeys() {
		imports = append(imports, "slices", "maps")
	}
	slices.Sort(imports)
	g.printf("import (\n")
	for _, imp := range imports {
		g.printf("%q\n", imp)
	}
	g.printf("\n\"github.com/vmfleet/vmfleet/pkg/awswire\"\n)\n\n")
	ns := g.m.Metadata.XMLNamespace
	if g.proto == ec2Protocol && !strings.HasSuffix(ns, "/") {
		// The model says ".../2016-11-15"; EC2 itself answers with
		// ".../2016-11-15/", and that is what clients have always seen.
		ns += "/"
	}
	g.printf("// xmlNamespace is the model's metadata.xmlNamespace, the xmlns of every answer.\n")
	g.printf("const xmlNamespace = %q\n\n", ns)
	signing := g.m.Metadata.SigningName
	if signing == "" {
		signing = g.m.Metadata.EndpointPrefix
	}
	g.printf("// APIVersion is the model's metadata.apiVersion, the Version= of every request.\n")
	g.printf("const APIVersion = %q\n\n", g.m.Metadata.APIVersion)
	g.printf("// SigningName is the service in a request's SigV4 credential scope.\n")
	g.printf("const SigningName = %q\n\n", signing)
	if g.documents {
		g.emitDocumentConstants()
	}
}

func (g *generator) usesTime() bool {
	for name := range union(g.inputs, g.outputs) {
		s := g.m.Shapes[name]
		for _, r := range append(append([]*shapeRef{}, s.Member, s.Value), refsOf(s)...) {
			if r != nil && g.m.Shapes[r.Shape].Type == "timestamp" {
				return true
			}
		}
	}
	return false
}

// usesSortedKeys tells whether an encoder writes a map, whose keys it
// sorts so that the answer is the same every time.
func (g *generator) usesSortedKeys() bool {
	for name := range g.outputs {
		if g.m.Shapes[name].Type == "map" {
			return true
		}
	}
	return false
}

func refsOf(s *shape) []*shapeRef {
	var out []*shapeRef
	for _, n := range s.Members.names {
		out = append(out, s.Members.refs[n])
	}
	return out
}
