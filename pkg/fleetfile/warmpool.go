package fleetfile

import (
	"slices"
	"strings"

	"github.com/vmfleet/vmfleet/pkg/limits"
)

// WarmPool is a service's warm pool, as Auto Scaling's PutWarmPool has
// it: instances prepared ahead of a scale-out, never in the balancer's
// rotation, taken first when the group grows.
type WarmPool struct {
	// MinSize is the fewest instances the pool keeps, 0..limits.MaxGroupSize.
	MinSize int
	// MaxGroupPreparedCapacity bounds the group and its pool together;
	// -1 (AWS's "unset") means the group's max, or with no scaling block
	// just MinSize.
	MaxGroupPreparedCapacity int
	// PoolState is one of limits.PoolStates.
	PoolState string
	// ReuseOnScaleIn returns instances to the pool on scale-in instead of
	// terminating them.
	ReuseOnScaleIn bool
}

func (p *parser) warmPool(e entry, at string) *WarmPool {
	known := []string{"min_size", "max_group_prepared_capacity", "pool_state", "reuse_on_scale_in"}
	fields, ok := p.fields(e, at, "{min_size: 2, pool_state: running}", known, awsWarmPoolHint)
	if !ok {
		return nil
	}
	w := &WarmPool{MaxGroupPreparedCapacity: -1, PoolState: limits.DefaultPoolState}
	if me, ok := fields["min_size"]; ok {
		if v, ok := p.integer(me, at+".min_size", "2"); ok && p.within(me.val, at+".min_size", "min_size "+me.val.Value, limits.CheckPoolSize(v)) {
			w.MinSize = v
		}
	}
	if ce, ok := fields["max_group_prepared_capacity"]; ok {
		if v, ok := p.integer(ce, at+".max_group_prepared_capacity", "6"); ok && p.within(ce.val, at+".max_group_prepared_capacity",
			"max_group_prepared_capacity "+ce.val.Value, limits.CheckPoolSize(v)) {
			w.MaxGroupPreparedCapacity = v
		}
	}
	if se, ok := fields["pool_state"]; ok {
		if v, ok := p.str(se, at+".pool_state", limits.PoolRunning); ok {
			if states := limits.PoolStates(); slices.Contains(states, strings.ToLower(v)) {
				w.PoolState = strings.ToLower(v) // AWS writes Stopped, Running, Hibernated
			} else {
				p.fail(se.val, at+".pool_state", "use one of "+strings.Join(states, ", "), "unknown pool_state %q", v)
			}
		}
	}
	if re, ok := fields["reuse_on_scale_in"]; ok {
		if v, ok := p.boolean(re, at+".reuse_on_scale_in", "true"); ok {
			w.ReuseOnScaleIn = v
		}
	}
	return w
}

// awsWarmPoolHint maps PutWarmPool's names for the keys to ours.
func awsWarmPoolHint(key string) string {
	switch strings.ReplaceAll(strings.ToLower(key), "_", "") {
	case "minsize", "min":
		return "min_size"
	case "maxgrouppreparedcapacity", "maxpreparedcapacity", "max", "maxsize":
		return "max_group_prepared_capacity"
	case "poolstate", "state":
		return "pool_state"
	case "instancereusepolicy", "reuseonscalein", "reuse":
		return "reuse_on_scale_in"
	}
	return ""
}
