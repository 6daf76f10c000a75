package main

// emitOperations writes, per operation, its Input and Output names and
// its two entry points: the request decoder and the answer encoder.
func (g *generator) emitOperations() {
	for _, op := range g.ops {
		g.emitIOType(op.Name+"Input", op.Input, "the parameters of a "+op.Name+" request")
		g.emitIOType(op.Name+"Output", op.Output, "what a "+op.Name+" answer carries")
		g.emitDecodeEntry(op)
		g.emitEncodeEntry(op)
	}
}

// emitIOType names an operation's input or output. The model's shape
// keeps its own name (several are shared by other shapes' members), and
// Input/Output is an alias; an operation without one gets an empty struct
// so every operation has the same entry points.
func (g *generator) emitIOType(name string, ref *shapeRef, what string) {
	if ref != nil && exported(ref.Shape) == name {
		// The model already calls the shape <Op>Input (CloudWatch does):
		// its struct is emitted with the other shapes.
		return
	}
	g.printf("// %s is %s.\n", name, what)
	if ref == nil {
		g.printf("type %s struct{}\n\n", name)
		return
	}
	g.printf("type %s = %s\n\n", name, exported(ref.Shape))
}

// emitTypes writes a Go struct per reachable structure shape, its fields
// in model order.
func (g *generator) emitTypes() {
	for _, name := range g.typed() {
		s := g.m.Shapes[name]
		g.printf("// %s is the model's %s structure.\n", exported(name), name)
		g.printf("type %s struct {\n", exported(name))
		for _, member := range s.Members.names {
			if s.isRequired(member) {
				g.printf("// %s is required.\n", exported(member))
			}
			g.printf("%s %s%s\n", exported(member), g.fieldType(s, member), g.documentTag(s, member))
		}
		g.printf("}\n\n")
	}
}
