package fleetfile

import (
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/vmfleet/vmfleet/pkg/limits"
)

// Egress is what a service's instances may reach beyond their
// dependencies' balancers, which they always reach. The zero value
// reaches nothing else.
type Egress struct {
	// HostPorts are ports on the host's 127.0.0.1 (a database the
	// developer runs there), reached at the discovery address's host.
	HostPorts []int
	// Internet lets the instances open connections to the outside.
	Internet bool
}

func (p *parser) egress(e entry, at string) Egress {
	var eg Egress
	fields, ok := p.fields(e, at, "{host_ports: [5432], internet: false}", []string{"host_ports", "internet"}, nil)
	if !ok {
		return eg
	}
	if he, ok := fields["host_ports"]; ok {
		eg.HostPorts = p.hostPorts(he, at+".host_ports")
	}
	if ie, ok := fields["internet"]; ok {
		if v, ok := p.boolean(ie, at+".internet", "true"); ok {
			eg.Internet = v
		}
	}
	return eg
}

func (p *parser) hostPorts(e entry, at string) []int {
	if e.val.Kind != yaml.SequenceNode {
		p.wrongType(e, at, "a list of ports", "[5432]")
		return nil
	}
	var ports []int
	first := map[int]int{}
	for i, n := range e.val.Content {
		n = deref(n)
		if n == nil {
			continue
		}
		itemAt := fmt.Sprintf("%s[%d]", at, i)
		v, ok := p.integer(entry{key: n, val: n}, itemAt, "5432")
		if !ok || !p.within(n, itemAt, "port "+n.Value, limits.CheckPort(v)) {
			continue
		}
		if prev, dup := first[v]; dup {
			p.fail(n, itemAt, "list it once", "port %d is listed twice (first at line %d)", v, prev)
			continue
		}
		first[v] = n.Line
		ports = append(ports, v)
	}
	return ports
}
