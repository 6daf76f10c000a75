package controller

import "sort"

// splitPool keeps the pool members that match the service's launch
// template and pool state, and drops the rest, as an instance refresh
// replaces a warm pool's outdated instances.
func splitPool(pool []*member, v view) (keep, drop []*member) {
	for _, m := range pool {
		if m.busy {
			keep = append(keep, m) // on its way; looked at again once there
			continue
		}
		if m.digest != v.digest || m.pool != v.poolState {
			drop = append(drop, m)
			continue
		}
		keep = append(keep, m)
	}
	return keep, drop
}

// takeWarm picks up to n ready pool members for the group, the longest
// waiting first, and returns the rest of the pool.
func takeWarm(pool []*member, n int) (take, rest []*member) {
	ready := make([]*member, 0, len(pool))
	for _, m := range pool {
		if m.phase == warmed && !m.busy {
			ready = append(ready, m)
		} else {
			rest = append(rest, m)
		}
	}
	sort.SliceStable(ready, func(i, j int) bool { return ready[i].launched.Before(ready[j].launched) })
	n = min(n, len(ready))
	return ready[:n], append(rest, ready[n:]...)
}

// trimPool picks n pool members to terminate when the pool is larger than
// it should be: those still warming first, then the newest; never one on
// its way (busy) or one just returned to it.
func trimPool(pool, returning []*member, n int) []*member {
	back := map[*member]bool{}
	for _, m := range returning {
		back[m] = true
	}
	var cands []*member
	for _, m := range pool {
		if !m.busy && !back[m] {
			cands = append(cands, m)
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if (a.phase == warming) != (b.phase == warming) {
			return a.phase == warming
		}
		return a.launched.After(b.launched)
	})
	return cands[:min(n, len(cands))]
}
