package fleetfile

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vmfleet/vmfleet/pkg/limits"
)

// wrongType reports a value of the wrong kind. A missing value ("port:")
// is reported on the key's line, since that is where the user looks.
func (p *parser) wrongType(e entry, path, want, example string) {
	fix := ""
	if example != "" {
		fix = "write it like " + example
	}
	if isNull(e.val) {
		p.fail(e.key, path, fix, "has no value, want %s", want)
		return
	}
	p.fail(e.val, path, fix, "got %s, want %s", describe(e.val), want)
}

// str reads any scalar but null as a string. Numbers and booleans are
// accepted as their text so that env: {PORT: 8080} works as in compose.
func (p *parser) str(e entry, path, example string) (string, bool) {
	if e.val.Kind != yaml.ScalarNode || isNull(e.val) {
		p.wrongType(e, path, "a string", example)
		return "", false
	}
	return e.val.Value, true
}

// integer reads a YAML integer; a quoted "8080" is rejected so that
// strings and numbers are never confused.
func (p *parser) integer(e entry, path, example string) (int, bool) {
	n := e.val
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.wrongType(e, path, "a whole number", example)
		return 0, false
	}
	switch n.ShortTag() {
	case "!!int":
		var v int
		if err := n.Decode(&v); err != nil {
			p.fail(n, path, "write it like "+example, "%s is out of range", n.Value)
			return 0, false
		}
		return v, true
	case "!!float":
		p.fail(n, path, "write it like "+example, "%s is not a whole number", n.Value)
	case "!!str":
		p.notANumber(n, path, example)
	default:
		p.wrongType(e, path, "a whole number", example)
	}
	return 0, false
}

// notANumber reports a string where a number goes, telling a quoted
// number ("8080") apart from a word.
func (p *parser) notANumber(n *yaml.Node, path, example string) {
	if _, err := strconv.ParseFloat(n.Value, 64); err == nil {
		p.fail(n, path, "write it without quotes, like "+example, "%q is a string, not a number", n.Value)
	} else {
		p.fail(n, path, "write it like "+example, "%q is not a number", n.Value)
	}
}

// number reads a YAML integer or float.
func (p *parser) number(e entry, path, example string) (float64, bool) {
	n := e.val
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.wrongType(e, path, "a number", example)
		return 0, false
	}
	switch n.ShortTag() {
	case "!!int", "!!float":
		var v float64
		if err := n.Decode(&v); err != nil {
			p.fail(n, path, "write it like "+example, "%s is out of range", n.Value)
			return 0, false
		}
		return v, true
	case "!!str":
		p.notANumber(n, path, example)
	default:
		p.wrongType(e, path, "a number", example)
	}
	return 0, false
}

// boolean reads a YAML true or false. A quoted "false", and yes, no, on
// and off, are rejected: what they mean would be a guess.
func (p *parser) boolean(e entry, path, example string) (bool, bool) {
	n := e.val
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		var v bool
		if err := n.Decode(&v); err == nil {
			return v, true
		}
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && (strings.EqualFold(n.Value, "true") || strings.EqualFold(n.Value, "false")) {
		p.fail(n, path, "write it without quotes, like "+example, "%q is a string, not true or false", n.Value)
		return false, false
	}
	p.wrongType(e, path, "true or false", example)
	return false, false
}

// duration reads a Go duration ("2s", "500ms"). A bare number is
// rejected: its unit would be a guess.
func (p *parser) duration(e entry, path string) (time.Duration, bool) {
	const fix = "write it like 2s or 500ms"
	if e.val.Kind != yaml.ScalarNode || isNull(e.val) {
		p.wrongType(e, path, "a duration", "2s or 500ms")
		return 0, false
	}
	d, err := time.ParseDuration(e.val.Value)
	if err != nil {
		p.fail(e.val, path, fix, "%q is not a duration", e.val.Value)
		return 0, false
	}
	return d, true
}

// boundedDuration is duration checked against a bound of package limits.
func (p *parser) boundedDuration(e entry, path string, check func(time.Duration) error) (time.Duration, bool) {
	d, ok := p.duration(e, path)
	return d, ok && p.within(e.val, path, e.val.Value, check(d))
}

// positiveDuration is duration that must be above zero.
func (p *parser) positiveDuration(e entry, path string) (time.Duration, bool) {
	d, ok := p.duration(e, path)
	if ok && d <= 0 {
		p.fail(e.val, path, "write it like 2s or 500ms", "%s must be more than zero", e.val.Value)
		return 0, false
	}
	return d, ok
}

// size reads a byte size like 256MiB, 1GiB, 512M or a plain byte count.
func (p *parser) size(e entry, path string) (int64, bool) {
	const fix = "write it like 256MiB"
	n := e.val
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.wrongType(e, path, "a size", "256MiB")
		return 0, false
	}
	v, err := parseSize(n.Value)
	if err != nil {
		p.fail(n, path, fix, "%q %v", n.Value, err)
		return 0, false
	}
	return v, true
}

// parseSize parses a number with an optional binary unit: B, K, M, G, T,
// optionally followed by B or iB, any case. All units are powers of 1024,
// as in docker's --memory, because RAM is sized in binary units.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-") {
		return 0, errors.New("must be more than zero")
	}
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	v, err := strconv.ParseFloat(num, 64)
	if num == "" || err != nil {
		return 0, errors.New("is not a size")
	}
	var mul float64
	switch unit {
	case "", "b":
		mul = 1
	case "k", "kb", "kib":
		mul = 1 << 10
	case "m", "mb", "mib":
		mul = 1 << 20
	case "g", "gb", "gib":
		mul = 1 << 30
	case "t", "tb", "tib":
		mul = 1 << 40
	default:
		return 0, errors.New("is not a size")
	}
	bytes := v * mul
	switch {
	case bytes < 1:
		// Also catches "0.1" bytes, which would truncate to zero.
		return 0, errors.New("must be more than zero")
	case bytes > limits.MaxMemory:
		// Compared as a float so huge inputs cannot overflow int64.
		return 0, fmt.Errorf("is more than %s", limits.FormatSize(limits.MaxMemory))
	}
	return int64(bytes), nil
}

// item is one string from a list, with where it was written.
type item struct {
	s  string
	n  *yaml.Node
	at string // path including the index, like "services.web.depends_on[1]"
}

// strList reads a list of strings; a single string is rejected so that
// argv splitting is never guessed. Items that aren't strings are reported
// and left out; ok is false if anything was wrong.
func (p *parser) strList(e entry, at, example string) (items []item, ok bool) {
	if e.val.Kind != yaml.SequenceNode {
		p.wrongType(e, at, "a list of strings", example)
		return nil, false
	}
	ok = true
	for i, n := range e.val.Content {
		n = deref(n)
		if n == nil {
			continue
		}
		itemAt := fmt.Sprintf("%s[%d]", at, i)
		s, good := p.str(entry{key: n, val: n}, itemAt, example)
		if !good {
			ok = false
			continue
		}
		items = append(items, item{s: s, n: n, at: itemAt})
	}
	return items, ok
}

// checkName reports a name that can't be a DNS label, since fleet and
// service names become parts of VM host names.
func (p *parser) checkName(n *yaml.Node, path, name string) bool {
	return p.within(n, path, "name "+strconv.Quote(name), limits.CheckName(name))
}

// within reports whether err, from a limits check of the value at n, is
// nil; if not it reports it, subject being the value as the user wrote it.
func (p *parser) within(n *yaml.Node, path, subject string, err error) bool {
	if err == nil {
		return true
	}
	var le *limits.Error
	if errors.As(err, &le) {
		p.fail(n, path, le.Fix, "%s %s", subject, le.Problem)
	} else {
		p.fail(n, path, "", "%s: %v", subject, err)
	}
	return false
}

// parseListen checks a balancer address and returns it normalised to
// "IP:port". Host names other than localhost are refused: resolving them
// would be I/O, and their answer could change between runs.
func parseListen(s string) (netip.AddrPort, string, error) {
	const fix = "write it like 127.0.0.1:8080"
	host, portStr, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, fix, fmt.Errorf("%q is not host:port", s)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fix, fmt.Errorf("port %q in %q is not a number from 0 to %d", portStr, s, limits.MaxPort)
	}
	if host == "" || host == "localhost" {
		host = limits.DefaultListenHost
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fix + " (host names other than localhost are not looked up)", fmt.Errorf("host %q is not an IP address or localhost", host)
	}
	return netip.AddrPortFrom(addr, uint16(port)), "", nil
}
