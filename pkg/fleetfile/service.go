package fleetfile

import (
	"maps"
	"net/netip"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vmfleet/vmfleet/pkg/health"
	"github.com/vmfleet/vmfleet/pkg/imds"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

// serviceNodes remembers where a service's values were written, for the
// checks that span services (see checkFleet).
type serviceNodes struct {
	listen *yaml.Node     // nil when the listen address was defaulted
	addr   netip.AddrPort // valid only with listen
	deps   []*yaml.Node   // parallel to Service.DependsOn
}

func (p *parser) service(name string, se entry, at string) (*Service, serviceNodes) {
	var nodes serviceNodes
	s := &Service{
		Name:        name,
		Instances:   limits.DefaultInstances,
		CPU:         limits.DefaultCPU,
		MemoryBytes: limits.DefaultMemory,
		Health:      health.DefaultCheck(),
		Balancer:    defaultBalancer(),
		// EC2's, spelled out: an omitted block and one with the defaults
		// compile to the same launch template.
		MetadataOptions: imds.DefaultMetadataOptions(),
	}
	known := []string{"image", "command", "env_file", "env", "port", "instances", "scaling", "cpu", "memory", "health", "balancer", "depends_on", "egress", "user_data", "warm_pool", "metadata_options"}
	fields, ok := p.fields(se, at, "{image: {binary: ./bin/"+name+"}, command: [/app/"+name+"], port: 8080}", known, composeHint)
	if !ok {
		return nil, nodes
	}

	if e, ok := fields["image"]; ok {
		s.Image = p.image(e, at+".image")
	} else {
		p.fail(se.key, at+".image", "add image: {binary: ./bin/"+name+"}", "image is missing")
	}

	if e, ok := fields["command"]; ok {
		items, ok := p.strList(e, at+".command", `["/app/`+name+`", "-flag"]`)
		switch {
		case !ok:
		case len(items) == 0:
			p.fail(e.val, at+".command", `write it like ["/app/`+name+`"]`, "command is empty")
		case items[0].s == "":
			p.fail(items[0].n, items[0].at, `write it like ["/app/`+name+`"]`, "the program to run is empty")
		default:
			for _, it := range items {
				s.Command = append(s.Command, it.s)
			}
		}
	} else {
		// Required even for a rootfs image: guessing its entry point would
		// make the file harder to read, not easier to write.
		p.fail(se.key, at+".command", `add command: ["/app/`+name+`"]`, "command is missing")
	}

	// env overrides env_file, as environment does in compose.
	if e, ok := fields["env_file"]; ok {
		s.Env = p.envFileList(e, at+".env_file")
	}
	if e, ok := fields["env"]; ok {
		if vars := p.env(e, at+".env"); s.Env == nil {
			s.Env = vars
		} else {
			maps.Copy(s.Env, vars)
		}
	}

	if e, ok := fields["port"]; ok {
		if v, ok := p.integer(e, at+".port", "8080"); ok && p.within(e.val, at+".port", "port "+e.val.Value, limits.CheckPort(v)) {
			s.Port = v
		}
	} else {
		p.fail(se.key, at+".port", "add port: 8080 (the guest port the balancer sends to)", "port is missing")
	}

	instances, hasInstances := fields["instances"]
	instancesOK := false
	if hasInstances {
		if v, ok := p.integer(instances, at+".instances", "3"); ok {
			if v < 0 {
				p.fail(instances.val, at+".instances", "use 0 or more", "instances %d is negative", v)
			} else {
				s.Instances, instancesOK = v, true
			}
		}
	}
	if e, ok := fields["scaling"]; ok {
		s.Scaling = p.scaling(e, at+".scaling")
	}
	switch {
	case instancesOK:
		p.checkInstances(s, instances, at+".instances")
	case !hasInstances && s.Scaling != nil:
		// An Auto Scaling group's desired capacity defaults to its MinSize.
		s.Instances = s.Scaling.Min
	}

	if e, ok := fields["cpu"]; ok {
		if v, ok := p.number(e, at+".cpu", "0.5"); ok && p.within(e.val, at+".cpu", "cpu "+e.val.Value, limits.CheckCPU(v)) {
			s.CPU = v
		}
	}

	if e, ok := fields["memory"]; ok {
		if v, ok := p.size(e, at+".memory"); ok && p.within(e.val, at+".memory", limits.FormatSize(v), limits.CheckMemory(v)) {
			s.MemoryBytes = v
		}
	}

	if e, ok := fields["health"]; ok {
		s.Health = p.health(e, at+".health")
	}

	if e, ok := fields["balancer"]; ok {
		s.Balancer, nodes.listen, nodes.addr = p.balancer(e, at+".balancer")
	}

	if e, ok := fields["depends_on"]; ok {
		s.DependsOn, nodes.deps = p.dependsOn(e, at+".depends_on")
	}
	if e, ok := fields["egress"]; ok {
		s.Egress = p.egress(e, at+".egress")
	}
	if e, ok := fields["warm_pool"]; ok {
		s.WarmPool = p.warmPool(e, at+".warm_pool")
	}
	if e, ok := fields["metadata_options"]; ok {
		s.MetadataOptions = p.metadataOptions(e, at+".metadata_options")
	}
	if e, ok := fields["user_data"]; ok {
		if v, ok := p.str(e, at+".user_data", "\"#!/bin/sh ...\""); ok {
			s.UserData = v
		}
	}
	return s, nodes
}

// composeHint maps docker compose keys to ours, since compose is what
// most users will have written before.
func composeHint(key string) string {
	switch key {
	case "replicas", "scale":
		return "instances"
	case "environment":
		return "env"
	case "mem_limit", "mem", "ram":
		return "memory"
	case "cpus":
		return "cpu"
	case "healthcheck":
		return "health"
	case "entrypoint", "cmd", "args":
		return "command"
	case "ports", "expose":
		return "port"
	case "build":
		return "image"
	case "warmpool", "warm-pool":
		return "warm_pool"
	case "autoscaling", "auto_scaling":
		return "scaling"
	case "links":
		return "depends_on"
	}
	return ""
}

func (p *parser) image(e entry, at string) Image {
	var img Image
	fields, ok := p.fields(e, at, "{binary: ./bin/app}", []string{"binary", "rootfs", "copy"}, nil)
	if !ok {
		return img
	}
	bin, hasBin := fields["binary"]
	rootfs, hasRootfs := fields["rootfs"]
	switch {
	case hasBin && hasRootfs:
		// Report at the later of the two, where the user added the second.
		later := rootfs
		if bin.key.Line > rootfs.key.Line {
			later = bin
		}
		p.fail(later.key, at, "keep only one of them", "image has both binary and rootfs")
	case !hasBin && !hasRootfs:
		p.fail(e.key, at, "add binary: ./bin/app or rootfs: ./app-rootfs.tar", "image has neither binary nor rootfs")
	case hasBin:
		img.Binary = p.hostPath(bin, at+".binary", "./bin/app")
	default:
		img.Rootfs = p.hostPath(rootfs, at+".rootfs", "./app-rootfs.tar")
	}
	if c, ok := fields["copy"]; ok {
		img.Copies = p.copies(c, at+".copy")
	}
	return img
}

// hostPath reads a non-empty host path and resolves it against the fleet
// file's directory.
func (p *parser) hostPath(e entry, at, example string) string {
	s, ok := p.str(e, at, example)
	if !ok {
		return ""
	}
	if s == "" {
		p.fail(e.val, at, "write it like "+example, "path is empty")
		return ""
	}
	return p.resolve(s)
}

func (p *parser) resolve(s string) string {
	if filepath.IsAbs(s) {
		return filepath.Clean(s)
	}
	return filepath.Join(p.dir, s)
}

func (p *parser) copies(e entry, at string) []Copy {
	const fix = "write it like ./static:/srv/static"
	items, _ := p.strList(e, at, `["./static:/srv/static"]`)
	var out []Copy
	seen := map[string]int{}
	for _, it := range items {
		s, n, itemAt := it.s, it.n, it.at
		// Split at the first ":/" because the destination is absolute;
		// this lets a host path contain colons.
		src, rest, ok := strings.Cut(s, ":/")
		if !ok {
			if _, dst, hasColon := strings.Cut(s, ":"); hasColon {
				p.fail(n, itemAt, fix, "destination %q is not an absolute guest path", dst)
			} else {
				p.fail(n, itemAt, fix, "%q is not SRC:DST", s)
			}
			continue
		}
		if src == "" {
			p.fail(n, itemAt, fix, "%q has an empty source", s)
			continue
		}
		dst := path.Clean("/" + rest)
		if prev, dup := seen[dst]; dup {
			p.fail(n, itemAt, "copy each destination once", "something is already copied to %s (line %d)", dst, prev)
			continue
		}
		seen[dst] = n.Line
		out = append(out, Copy{Src: p.resolve(src), Dst: dst})
	}
	return out
}

func (p *parser) env(e entry, at string) map[string]string {
	list, ok := p.entries(e, at, "a map of names to values", "{LOG_LEVEL: info}")
	if !ok {
		return nil
	}
	env := make(map[string]string, len(list))
	for _, kv := range list {
		k := kv.key.Value
		kAt := at + "." + k
		if !p.within(kv.key, kAt, strconv.Quote(k), limits.CheckEnvName(k)) {
			continue
		}
		if v, ok := p.str(kv, kAt, k+`: "value"`); ok {
			env[k] = v
		}
	}
	return env
}

func defaultBalancer() Balancer {
	return Balancer{Listen: limits.DefaultListen, DeregistrationDelay: limits.DefaultDeregistrationDelay, Replay: limits.DefaultReplay}
}

func (p *parser) balancer(e entry, at string) (Balancer, *yaml.Node, netip.AddrPort) {
	b := defaultBalancer()
	var addr netip.AddrPort
	var listenNode *yaml.Node
	fields, ok := p.fields(e, at, "{listen: 127.0.0.1:8080}", []string{"listen", "deregistration_delay", "replay"}, nil)
	if !ok {
		return b, nil, addr
	}
	if le, ok := fields["listen"]; ok {
		if v, ok := p.str(le, at+".listen", "127.0.0.1:8080"); ok {
			if ap, fix, err := parseListen(v); err != nil {
				p.fail(le.val, at+".listen", fix, "%v", err)
			} else {
				b.Listen, addr, listenNode = ap.String(), ap, le.val
			}
		}
	}
	if de, ok := fields["deregistration_delay"]; ok {
		if d, ok := p.boundedDuration(de, at+".deregistration_delay", limits.CheckDeregistrationDelay); ok {
			b.DeregistrationDelay = d
		}
	}
	if re, ok := fields["replay"]; ok {
		if v, ok := p.boolean(re, at+".replay", "false"); ok {
			b.Replay = v
		}
	}
	return b, listenNode, addr
}

func (p *parser) dependsOn(e entry, at string) ([]string, []*yaml.Node) {
	items, _ := p.strList(e, at, "[catalog]")
	var names []string
	var nodes []*yaml.Node
	first := map[string]int{}
	for _, it := range items {
		if prev, dup := first[it.s]; dup {
			p.fail(it.n, it.at, "list it once", "%q is listed twice (first at line %d)", it.s, prev)
			continue
		}
		first[it.s] = it.n.Line
		names = append(names, it.s)
		nodes = append(nodes, it.n)
	}
	return names, nodes
}
