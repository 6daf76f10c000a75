package fleetfile

import (
	"cmp"
	"strings"

	"github.com/vmfleet/vmfleet/pkg/health"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

func (p *parser) health(e entry, at string) health.Check {
	h := health.DefaultCheck() // an ALB target group's
	known := []string{"type", "path", "interval", "timeout", "healthy_threshold", "unhealthy_threshold"}
	fields, ok := p.fields(e, at, "{type: http, path: /healthz}", known, nil)
	if !ok {
		return h
	}
	if t, ok := fields["type"]; ok {
		if v, ok := p.str(t, at+".type", "http"); ok {
			if ht := health.Type(v); ht == health.TypeHTTP || ht == health.TypeTCP {
				h.Type = ht
			} else {
				p.fail(t.val, at+".type", "write type: http or type: tcp", "health check type %q is not http or tcp", v)
			}
		}
	}
	if pe, ok := fields["path"]; ok {
		if v, ok := p.str(pe, at+".path", "/healthz"); ok {
			switch {
			case h.Type == health.TypeTCP:
				p.fail(pe.key, at+".path", "remove path, or use type: http", "path applies only to http health checks")
			case !strings.HasPrefix(v, "/"):
				p.fail(pe.val, at+".path", "write it like /healthz", "path %q does not start with /", v)
			default:
				h.Path = v
			}
		}
	}
	if h.Type == health.TypeTCP {
		h.Path = ""
	}

	// A bad interval or timeout is reported once, not again as a
	// comparison against the default standing in for it.
	durationsOK := true
	interval, hasInterval := fields["interval"]
	// AWS's ranges, in AWS time: the time scale, not a shorter period,
	// is how a fleet runs faster (limits.RunHealthPeriods).
	if hasInterval {
		d, ok := p.boundedDuration(interval, at+".interval", limits.CheckHealthInterval)
		h.Interval, durationsOK = cmp.Or(d, h.Interval), durationsOK && ok
	}
	timeout, hasTimeout := fields["timeout"]
	if hasTimeout {
		d, ok := p.boundedDuration(timeout, at+".timeout", limits.CheckHealthTimeout)
		h.Timeout, durationsOK = cmp.Or(d, h.Timeout), durationsOK && ok
	}
	if durationsOK && h.Timeout >= h.Interval && (hasInterval || hasTimeout) {
		// Blame the value the user wrote; a default can't be edited.
		blame, key, tNote, iNote := timeout, "timeout", "", ""
		if !hasTimeout {
			blame, key, tNote = interval, "interval", " (the default)"
		}
		if !hasInterval {
			iNote = " (the default)"
		}
		p.fail(blame.val, at+"."+key, "set timeout below interval, as AWS requires",
			"timeout %v%s is not shorter than interval %v%s", h.Timeout, tNote, h.Interval, iNote)
	}

	for _, th := range []struct {
		key string
		dst *int
	}{{"healthy_threshold", &h.HealthyThreshold}, {"unhealthy_threshold", &h.UnhealthyThreshold}} {
		te, ok := fields[th.key]
		if !ok {
			continue
		}
		if v, ok := p.integer(te, at+"."+th.key, "3"); ok && p.within(te.val, at+"."+th.key, th.key+" "+te.val.Value, limits.CheckThreshold(v)) {
			*th.dst = v
		}
	}
	return h
}
