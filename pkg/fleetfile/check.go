package fleetfile

import (
	"fmt"
	"strings"
)

// checkFleet runs the checks that need every service: depends_on targets
// and cycles, and balancer addresses that would collide. nodes is
// parallel to f.Services; declared holds every service name in the file,
// including those left out of f for their own errors, so that depending
// on a broken service is not reported a second time.
func (p *parser) checkFleet(f *Fleet, nodes []serviceNodes, declared map[string]bool) {
	index := make(map[string]int, len(f.Services))
	names := make([]string, len(f.Services))
	for i, s := range f.Services {
		index[s.Name] = i
		names[i] = s.Name
	}
	p.checkDepsExist(f, nodes, declared, names)
	p.checkCycles(f, nodes, index)
	p.checkListen(f, nodes)
}

func (p *parser) checkDepsExist(f *Fleet, nodes []serviceNodes, declared map[string]bool, names []string) {
	for i, s := range f.Services {
		for j, d := range s.DependsOn {
			if declared[d] {
				continue
			}
			at := fmt.Sprintf("services.%s.depends_on[%d]", s.Name, j)
			fix := "services are " + strings.Join(names, ", ")
			if c := closest(d, names); c != "" {
				fix = "did you mean " + c + "?"
			}
			p.fail(nodes[i].deps[j], at, fix, "%q is not a service in this fleet", d)
		}
	}
}

// checkCycles reports each cycle once, at the depends_on entry that
// closes it, spelled from that entry's service: "web -> catalog -> web".
func (p *parser) checkCycles(f *Fleet, nodes []serviceNodes, index map[string]int) {
	const (
		unvisited = iota
		onStack
		done
	)
	state := make([]int, len(f.Services))
	var stack []int
	var visit func(u int)
	visit = func(u int) {
		state[u] = onStack
		stack = append(stack, u)
		for j, d := range f.Services[u].DependsOn {
			v, ok := index[d]
			if !ok {
				continue // reported by checkDepsExist
			}
			switch state[v] {
			case unvisited:
				visit(v)
			case onStack:
				p.reportCycle(f, nodes, stack, u, v, j)
			}
		}
		stack = stack[:len(stack)-1]
		state[u] = done
	}
	for u := range f.Services {
		if state[u] == unvisited {
			visit(u)
		}
	}
}

// reportCycle reports the cycle formed by the edge u -> v (dependency j
// of u) while v is on the DFS stack.
func (p *parser) reportCycle(f *Fleet, nodes []serviceNodes, stack []int, u, v, j int) {
	start := 0
	for k, s := range stack {
		if s == v {
			start = k
			break
		}
	}
	// stack[start:] runs v ... u; the cycle read from u is u, v ... u.
	names := []string{f.Services[u].Name}
	for _, s := range stack[start:] {
		names = append(names, f.Services[s].Name)
	}
	at := fmt.Sprintf("services.%s.depends_on[%d]", f.Services[u].Name, j)
	p.fail(nodes[u].deps[j], at, "remove one of these dependencies", "depends_on forms a cycle: %s", strings.Join(names, " -> "))
}

// checkListen reports balancer addresses two services can't both bind.
// A wildcard address (0.0.0.0 or ::) collides with any address on the
// same port; port 0 never collides, it is chosen at `up`.
func (p *parser) checkListen(f *Fleet, nodes []serviceNodes) {
	for i := range f.Services {
		a := nodes[i]
		if a.listen == nil || a.addr.Port() == 0 {
			continue
		}
		for k := range i {
			b := nodes[k]
			if b.listen == nil || b.addr.Port() != a.addr.Port() {
				continue
			}
			if a.addr.Addr() == b.addr.Addr() || a.addr.Addr().IsUnspecified() || b.addr.Addr().IsUnspecified() {
				at := "services." + f.Services[i].Name + ".balancer.listen"
				p.fail(a.listen, at, "give each service its own port",
					"%s collides with services.%s.balancer.listen %s at line %d", a.addr, f.Services[k].Name, b.addr, b.listen.Line)
				break
			}
		}
	}
}
