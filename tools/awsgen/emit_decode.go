package main

import "strings"

// The decoders read the query protocol's flattened key space back into
// shapes. A structure decoder takes the prefix its members hang under
// ("" at the top, "Filter.1" for EC2's first filter); a list or map
// decoder takes its own key, for telling "given empty" from "not given",
// and the base its numbered items hang under.

func (g *generator) emitDecodeEntry(op *operation) {
	name := op.Name + "Input"
	g.printf("// Decode%s reads a %s request's parameters, the query\n", name, op.Name)
	g.printf("// string and form body merged. A missing required member is an\n")
	g.printf("// *awswire.MissingParameterError, a value that does not parse an\n")
	g.printf("// *awswire.InvalidParameterError.\n")
	g.printf("func Decode%s(params url.Values) (*%s, error) {\n", name, name)
	if op.Input == nil {
		g.printf("return &%s{}, nil\n}\n\n", name)
		return
	}
	g.printf("d := awswire.NewDecoder(params)\n")
	g.printf("in := new(%s)\n", name)
	g.printf("decode%s(d, \"\", in)\n", exported(op.Input.Shape))
	g.printf("if err := d.Err(); err != nil {\n")
	g.printf("return nil, fmt.Errorf(\"decoding a %s request: %%w\", err)\n}\n", op.Name)
	g.printf("return in, nil\n}\n\n")
}

func (g *generator) emitDecoders() {
	g.emitEach(g.inputs, g.emitDecodeStruct, g.emitDecodeList, g.emitDecodeMap)
}

// paramName is a member's name in a request. The query protocol uses the
// member's locationName, else its name; EC2 uses queryName, else the
// locationName with its first letter capitalised (EC2 models lowerCamel
// names for its XML answers and reuses them), else the member's name.
func (g *generator) paramName(ref *shapeRef, fallback string) string {
	loc := firstOf(ref.LocationName, g.m.Shapes[ref.Shape].LocationName)
	if g.proto == ec2Protocol {
		if ref.QueryName != "" {
			return ref.QueryName
		}
		if loc != "" {
			return strings.ToUpper(loc[:1]) + loc[1:]
		}
		return fallback
	}
	return firstOf(loc, fallback)
}

func firstOf(names ...string) string {
	for _, n := range names {
		if n != "" {
			return n
		}
	}
	return ""
}

// itemBase is the Go expression of the base a list's or map's items hang
// under, given the expressions of the list's own key and of the prefix of
// the structure holding it: EC2 numbers items right after the key
// (Filter.1); the query protocol puts "member" (or the list member's
// locationName) in between (Filters.member.1), "entry" for maps, unless
// the shape is flattened.
func (g *generator) itemBase(shapeName, keyExpr, parentExpr string) string {
	s := g.m.Shapes[shapeName]
	if g.proto == ec2Protocol {
		return keyExpr
	}
	if s.Flattened {
		if s.Type == "list" && s.Member.LocationName != "" && parentExpr != "" {
			return "awswire.Key(" + parentExpr + ", " + quote(s.Member.LocationName) + ")"
		}
		return keyExpr
	}
	if s.Type == "map" {
		return keyExpr + ` + ".entry"`
	}
	return keyExpr + " + " + quote("."+firstOf(s.Member.LocationName, "member"))
}

func quote(s string) string { return `"` + s + `"` }

func (g *generator) emitDecodeStruct(name string, s *shape) {
	g.printf("func decode%s(d *awswire.Decoder, p string, v *%s) {\n", exported(name), exported(name))
	for _, member := range s.Members.names {
		ref := s.Members.refs[member]
		target := g.m.Shapes[ref.Shape]
		field := "v." + exported(member)
		key := "awswire.Key(p, " + quote(g.paramName(ref, member)) + ")"
		required := s.isRequired(member)
		switch target.Type {
		case "structure":
			g.printf("if k := %s; d.Present(k) {\n", key)
			g.printf("%s = new(%s)\ndecode%s(d, k, %s)\n", field, exported(ref.Shape), exported(ref.Shape), field)
			if required {
				g.printf("} else {\nd.Missing(k)\n")
			}
			g.printf("}\n")
		case "list", "map":
			g.printf("{\nk := %s\n", key)
			g.printf("%s = decode%s(d, k, %s)\n", field, exported(ref.Shape), g.itemBase(ref.Shape, "k", "p"))
			if required {
				g.printf("if %s == nil {\nd.Missing(k)\n}\n", field)
			}
			g.printf("}\n")
		default:
			sc, _ := scalarOf(target.Type)
			fn := "Opt"
			if required {
				fn = "Req"
			}
			g.printf("%s = awswire.%s(d, %s, %s)\n", field, fn, key, sc.parse)
		}
	}
	g.printf("}\n\n")
}

// emitDecodeValue writes the statements that decode one list item or map
// value of the named shape from the prefix expression at into dst, an
// addressable Go expression.
func (g *generator) emitDecodeValue(shapeName, at, dst string) {
	s := g.m.Shapes[shapeName]
	switch s.Type {
	case "structure":
		g.printf("decode%s(d, %s, &%s)\n", exported(shapeName), at, dst)
	case "list", "map":
		g.printf("%s = decode%s(d, %s, %s)\n", dst, exported(shapeName), at, g.itemBase(shapeName, at, ""))
	default:
		sc, _ := scalarOf(s.Type)
		g.printf("%s = awswire.Req(d, %s, %s)\n", dst, at, sc.parse)
	}
}

func (g *generator) emitDecodeList(name string, s *shape) {
	g.printf("func decode%s(d *awswire.Decoder, key, itemBase string) %s {\n", exported(name), g.goType(name))
	g.printf("items, ok := d.List(key, itemBase)\nif !ok {\nreturn nil\n}\n")
	g.printf("out := make(%s, len(items))\n", g.goType(name))
	g.printf("for i, item := range items {\n")
	g.emitDecodeValue(s.Member.Shape, "item", "out[i]")
	g.printf("}\nreturn out\n}\n\n")
}

func (g *generator) emitDecodeMap(name string, s *shape) {
	keyName := g.paramName(s.Key, "key")
	valueName := g.paramName(s.Value, "value")
	g.printf("func decode%s(d *awswire.Decoder, key, itemBase string) %s {\n", exported(name), g.goType(name))
	g.printf("entries, ok := d.List(key, itemBase)\nif !ok {\nreturn nil\n}\n")
	g.printf("out := make(%s, len(entries))\n", g.goType(name))
	g.printf("for _, entry := range entries {\n")
	g.printf("var value %s\n", g.goType(s.Value.Shape))
	g.emitDecodeValue(s.Value.Shape, "entry + "+quote("."+valueName), "value")
	g.printf("out[awswire.Req(d, entry+%s, awswire.ParseString)] = value\n", quote("."+keyName))
	g.printf("}\nreturn out\n}\n\n")
}
