package main

// The encoders write shapes as AWS's XML answers carry them. A structure
// encoder writes its members' elements, the caller writes the structure's
// own element around them; list and map encoders write their whole
// element, as flattened ones have no wrapper.
//
// Nil and empty are kept apart, the same way in every service: a nil
// slice or map is left out, like any member without a value, and an empty
// one is written as an empty element (<reservationSet></reservationSet>),
// which is what AWS sends for a list it has but that has no items. Every
// SDK and the CLI read both as an empty list.

func (g *generator) emitEncodeEntry(op *operation) {
	name := op.Name + "Output"
	g.printf("// Encode%sResponse writes a %s answer as AWS sends it.\n", op.Name, op.Name)
	g.printf("func Encode%sResponse(w io.Writer, out *%s, requestID string) error {\n", op.Name, name)
	g.printf("e := awswire.NewEncoder()\n")
	root := op.Name + "Response"
	if g.proto == ec2Protocol {
		g.printf("e.Declaration()\n")
		g.printf("e.OpenNS(%q, xmlNamespace)\n", root)
		g.printf("e.Text(\"requestId\", requestID)\n")
		g.emitEncodeBody(op, name)
		if op.Output == nil {
			// EC2 answers an action that returns nothing with
			// <return>true</return>.
			g.printf("e.Text(\"return\", \"true\")\n")
		}
		g.printf("e.Close(%q)\n", root)
		g.printf("return e.Flush(w)\n}\n\n")
		return
	}
	g.printf("e.OpenNS(%q, xmlNamespace)\n", root)
	if op.Output != nil && op.Output.ResultWrapper != "" {
		g.printf("e.Open(%q)\n", op.Output.ResultWrapper)
		g.emitEncodeBody(op, name)
		g.printf("e.Close(%q)\n", op.Output.ResultWrapper)
	} else {
		g.emitEncodeBody(op, name)
	}
	g.printf("e.QueryResponseMetadata(requestID)\n")
	g.printf("e.Close(%q)\n", root)
	g.printf("return e.Flush(w)\n}\n\n")
}

func (g *generator) emitEncodeBody(op *operation, name string) {
	if op.Output == nil {
		g.printf("_ = out // %s has no members\n", name)
		return
	}
	g.printf("if out != nil {\nencode%s(e, out)\n}\n", exported(op.Output.Shape))
}

func (g *generator) emitEncoders() {
	g.emitEach(g.outputs, g.emitEncodeStruct, g.emitEncodeList, g.emitEncodeMap)
}

// elementName is a member's element name in an answer: its locationName
// (EC2's lowerCamel names), else its name.
func (g *generator) elementName(ref *shapeRef, fallback string) string {
	return firstOf(ref.LocationName, g.m.Shapes[ref.Shape].LocationName, fallback)
}

func (g *generator) emitEncodeStruct(name string, s *shape) {
	g.printf("func encode%s(e *awswire.Encoder, v *%s) {\n", exported(name), exported(name))
	for _, member := range s.ordered() {
		ref := s.Members.refs[member]
		target := g.m.Shapes[ref.Shape]
		field := "v." + exported(member)
		elem := g.elementName(ref, member)
		switch target.Type {
		case "structure":
			g.printf("if %s != nil {\ne.Open(%q)\nencode%s(e, %s)\ne.Close(%q)\n}\n", field, elem, exported(ref.Shape), field, elem)
		case "list", "map":
			g.printf("encode%s(e, %q, %s)\n", exported(ref.Shape), elem, field)
		default:
			sc, _ := scalarOf(target.Type)
			if s.isRequired(member) {
				g.printf("e.Text(%q, %s(%s))\n", elem, sc.format, field)
			} else {
				g.printf("awswire.OptText(e, %q, %s, %s)\n", elem, field, sc.format)
			}
		}
	}
	g.printf("}\n\n")
}

// emitEncodeValue writes the statements that encode one list item or map
// value, the Go expression val, as the element named by the Go expression
// elem.
func (g *generator) emitEncodeValue(shapeName, elem, val string) {
	s := g.m.Shapes[shapeName]
	switch s.Type {
	case "structure":
		g.printf("e.Open(%s)\nencode%s(e, &%s)\ne.Close(%s)\n", elem, exported(shapeName), val, elem)
	case "list", "map":
		g.printf("encode%s(e, %s, %s)\n", exported(shapeName), elem, val)
	default:
		sc, _ := scalarOf(s.Type)
		g.printf("e.Text(%s, %s(%s))\n", elem, sc.format, val)
	}
}

func (g *generator) emitEncodeList(name string, s *shape) {
	g.printf("func encode%s(e *awswire.Encoder, name string, v %s) {\n", exported(name), g.goType(name))
	g.printf("if v == nil {\nreturn\n}\n")
	if s.Flattened {
		// No wrapper: each item is an element of its own, named by the
		// list member's locationName or else the structure member's.
		item := "name"
		if s.Member.LocationName != "" {
			item = quote(s.Member.LocationName)
		}
		g.printf("for i := range v {\n")
		g.emitEncodeValue(s.Member.Shape, item, "v[i]")
		g.printf("}\n}\n\n")
		return
	}
	item := quote(firstOf(s.Member.LocationName, "member"))
	g.printf("e.Open(name)\nfor i := range v {\n")
	g.emitEncodeValue(s.Member.Shape, item, "v[i]")
	g.printf("}\ne.Close(name)\n}\n\n")
}

func (g *generator) emitEncodeMap(name string, s *shape) {
	keyName := quote(g.elementName(s.Key, "key"))
	valueName := quote(g.elementName(s.Value, "value"))
	g.printf("func encode%s(e *awswire.Encoder, name string, v %s) {\n", exported(name), g.goType(name))
	g.printf("if v == nil {\nreturn\n}\n")
	entry := `"entry"`
	if s.Flattened {
		entry = "name"
	} else {
		g.printf("e.Open(name)\n")
	}
	g.printf("// Sorted keys: the same map gives the same answer every time.\n")
	g.printf("for _, k := range slices.Sorted(maps.Keys(v)) {\n")
	g.printf("e.Open(%s)\ne.Text(%s, k)\n", entry, keyName)
	g.printf("value := v[k]\n")
	g.emitEncodeValue(s.Value.Shape, valueName, "value")
	g.printf("e.Close(%s)\n}\n", entry)
	if !s.Flattened {
		g.printf("e.Close(name)\n")
	}
	g.printf("}\n\n")
}
