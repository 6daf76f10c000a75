package fleetfile

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vmfleet/vmfleet/pkg/limits"
)

// scaling reads a service's scaling: block. It returns nil when min or
// max are missing or wrong, so that the instance count is not checked
// again against bounds already reported.
func (p *parser) scaling(e entry, at string) *Scaling {
	known := []string{"min", "max", "instance_warmup", "disable_scale_in", "target_tracking", "termination_policies"}
	fields, ok := p.fields(e, at, "{min: 1, max: 6}", known, awsScalingHint)
	if !ok {
		return nil
	}
	sc := &Scaling{InstanceWarmup: limits.DefaultInstanceWarmup}
	sizeOK := p.groupSize(e, fields, at, sc)
	if we, ok := fields["instance_warmup"]; ok {
		if d, ok := p.boundedDuration(we, at+".instance_warmup", limits.CheckInstanceWarmup); ok {
			sc.InstanceWarmup = d
		}
	}
	if de, ok := fields["disable_scale_in"]; ok {
		if v, ok := p.boolean(de, at+".disable_scale_in", "true"); ok {
			sc.DisableScaleIn = v
		}
	}
	if te, ok := fields["target_tracking"]; ok {
		sc.TargetTracking = p.targetTracking(te, at+".target_tracking")
	}
	if te, ok := fields["termination_policies"]; ok {
		sc.TerminationPolicies = p.terminationPolicies(te, at+".termination_policies")
	}
	if !sizeOK {
		return nil
	}
	return sc
}

// awsScalingHint maps Auto Scaling's names for the keys to ours.
func awsScalingHint(key string) string {
	switch strings.ReplaceAll(strings.ToLower(key), "_", "") {
	case "minsize":
		return "min"
	case "maxsize":
		return "max"
	case "warmup", "defaultinstancewarmup", "estimatedinstancewarmup":
		return "instance_warmup"
	case "policies", "targettrackingconfiguration":
		return "target_tracking"
	case "terminationpolicy", "terminationpolicies":
		return "termination_policies"
	}
	return ""
}

// groupSize reads min and max into sc and reports whether both are there
// and fit together. Both are required, as MinSize and MaxSize are in AWS.
func (p *parser) groupSize(e entry, fields map[string]entry, at string, sc *Scaling) bool {
	minE, hasMin := fields["min"]
	maxE, hasMax := fields["max"]
	switch {
	case (!hasMin || !hasMax) && misread(e, fields):
		return false
	case !hasMin && !hasMax:
		p.fail(e.key, at, "add min: 1 and max: 6 (AWS's MinSize and MaxSize)", "scaling has neither min nor max")
		return false
	case !hasMin:
		p.fail(e.key, at+".min", "add min: 1 (AWS's MinSize)", "scaling has no min")
		return false
	case !hasMax:
		p.fail(e.key, at+".max", "add max: 6 (AWS's MaxSize)", "scaling has no max")
		return false
	}
	lo, minOK := p.integer(minE, at+".min", "1")
	if minOK && lo < 0 {
		p.fail(minE.val, at+".min", "use 0 or more", "min %d is negative", lo)
		minOK = false
	}
	hi, maxOK := p.integer(maxE, at+".max", "6")
	maxOK = maxOK && p.within(maxE.val, at+".max", "max "+maxE.val.Value, limits.CheckGroupMax(hi))
	if !minOK || !maxOK {
		return false
	}
	if lo > hi {
		p.fail(minE.val, at+".min", "make min at most max", "min %d is more than max %d", lo, hi)
		return false
	}
	sc.Min, sc.Max = lo, hi
	return true
}

// checkInstances reports an instance count written in the file that lies
// outside the service's bounds.
func (p *parser) checkInstances(s *Service, e entry, at string) {
	lo, hi := s.Bounds()
	switch {
	case s.Scaling != nil && (s.Instances < lo || s.Instances > hi):
		p.fail(e.val, at, fmt.Sprintf("set instances from %d to %d, or change scaling's min or max", lo, hi),
			"instances %d is outside scaling's min %d and max %d", s.Instances, lo, hi)
	case s.Instances > hi:
		p.fail(e.val, at, fmt.Sprintf("use 0 to %d", hi), "instances %d is more than %d, the most one service may run", s.Instances, hi)
	}
}

// targetTracking reads a list of target tracking policies, at most one
// per metric. An empty list is allowed: then min and max only bound a
// manual scale.
func (p *parser) targetTracking(e entry, at string) []TargetTracking {
	const example = "[{metric: cpu_utilization, target: 50}]"
	if e.val.Kind != yaml.SequenceNode {
		p.wrongType(e, at, "a list of policies", example)
		return nil
	}
	var out []TargetTracking
	first := map[string]int{} // metric -> line of its policy
	for i, n := range e.val.Content {
		n = deref(n)
		if n == nil {
			continue
		}
		itemAt := fmt.Sprintf("%s[%d]", at, i)
		tt, ok := p.policy(entry{key: n, val: n}, itemAt)
		if !ok {
			continue
		}
		if prev, dup := first[tt.Metric]; dup {
			p.fail(n, itemAt+".metric", "keep one policy per metric", "metric %s already has a policy (line %d)", tt.Metric, prev)
			continue
		}
		first[tt.Metric] = n.Line
		out = append(out, tt)
	}
	return out
}

// policy reads one target tracking policy; ok is false if anything in it
// was wrong.
func (p *parser) policy(e entry, at string) (tt TargetTracking, ok bool) {
	fields, ok := p.fields(e, at, "{metric: cpu_utilization, target: 50}", []string{"metric", "target"}, nil)
	if !ok {
		return tt, false
	}
	me, hasMetric := fields["metric"]
	te, hasTarget := fields["target"]
	if (!hasMetric || !hasTarget) && misread(e, fields) {
		return tt, false
	}
	if !hasMetric {
		p.fail(e.val, at+".metric", "add metric: cpu_utilization", "the policy has no metric")
	}
	if !hasTarget {
		p.fail(e.val, at+".target", "add target: 50", "the policy has no target")
	}
	if !hasMetric || !hasTarget {
		return tt, false
	}
	metric, metricOK := p.str(me, at+".metric", limits.MetricCPUUtilization)
	if metricOK && !slices.Contains(limits.Metrics(), metric) {
		p.fail(me.val, at+".metric", metricFix(metric), "metric %q is not one vmfleet tracks", metric)
		metricOK = false
	}
	target, targetOK := p.number(te, at+".target", "50")
	// An unknown metric is checked as any metric would be, so a bad
	// target is still reported in the same pass.
	targetOK = targetOK && p.within(te.val, at+".target", "target "+te.val.Value, limits.CheckTarget(metric, target))
	return TargetTracking{Metric: metric, Target: target}, metricOK && targetOK
}

// metricFix lists the metrics vmfleet tracks, first suggesting the one
// the user probably meant: a near spelling, or ours for AWS's name.
func metricFix(metric string) string {
	known := limits.Metrics()
	fix := "known metrics are " + strings.Join(known, ", ")
	for _, m := range known {
		if strings.EqualFold(metric, limits.AWSMetric(m)) {
			return "did you mean " + m + "? " + fix
		}
	}
	if c := closest(metric, known); c != "" {
		return "did you mean " + c + "? " + fix
	}
	return fix
}

// misread reports whether some of the mapping e's keys were left out of
// fields, as unknown or repeated. A required key that is then missing is
// not reported too: the error about the key written, usually "did you
// mean min?", already points at it.
func misread(e entry, fields map[string]entry) bool {
	return len(e.val.Content)/2 > len(fields)
}

// terminationPolicies reads the list of AWS termination policy names.
func (p *parser) terminationPolicies(e entry, at string) []string {
	example := "[OldestInstance]"
	items, ok := p.strList(e, at, example)
	if !ok {
		return nil
	}
	known := limits.TerminationPolicies()
	var out []string
	for _, it := range items {
		switch {
		case !slices.Contains(known, it.s):
			p.fail(it.n, it.at, "use one of "+strings.Join(known, ", "), "unknown termination policy %q", it.s)
		case slices.Contains(out, it.s):
			p.fail(it.n, it.at, "list each policy once", "termination policy %s is listed twice", it.s)
		default:
			out = append(out, it.s)
		}
	}
	return out
}
