package controller

import (
	"sort"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/health"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

// phase is where an instance is in its life, as the controller sees it.
type phase int

const (
	launching   phase = iota // Launch in progress; no instance yet
	booting                  // launched and registered, not yet healthy
	inService                // healthy, in the balancer's rotation
	leaving                  // draining and terminating, or replaced
	warming                  // made for the warm pool, not yet ready there
	warmed                   // waiting in the warm pool, in its pool state
	pendingWait              // launched, held by a launch lifecycle hook
	standby                  // out of the balancer and the count, running
)

func (p phase) String() string {
	return [...]string{api.Pending, api.Pending, api.InService, api.Terminating, api.WarmedPending, "warmed", api.PendingWait, api.Standby}[p]
}

// established orders phases for the Default termination policy: the
// least established go first.
func (p phase) established() int {
	switch p {
	case launching, booting, pendingWait:
		return 0
	case inService:
		return 1
	}
	return 2
}

// pooled reports whether the phase is one of the warm pool's.
func (p phase) pooled() bool { return p == warming || p == warmed }

// runs reports whether the member's domain should be running, so that
// one found stopped is replaced.
func (m *member) runs() bool {
	switch m.phase {
	case booting, inService, warming, pendingWait, standby:
		return true
	case warmed:
		return m.pool == limits.PoolRunning
	}
	return false
}

// boots reports whether the member counts against the boot budget: it is
// launching, or booting a kernel (a stopped pool's launches only define a
// domain). A guest restored from a snapshot and woken has only its service
// to start, a fraction of a boot's CPU, so the next launch need not wait
// for its health check.
func (m *member) boots() bool {
	switch m.phase {
	case launching:
		return true
	case booting:
		return !m.woken
	case warming:
		return m.pool != limits.PoolStopped && !m.woken
	}
	return false
}

// member is one instance of a service, as the controller tracks it.
type member struct {
	key      string // instance id, or a placeholder while launching
	digest   string // the image it runs
	phase    phase
	launched time.Time
	// inService is when it went in service (zero before): its metrics
	// count for the autoscaler once it has warmed up from then.
	inService time.Time
	// pool is the warm pool state it is kept in (or on its way to).
	pool string
	// woken: its guest was restored (from a snapshot or its own saved
	// memory) rather than booted, and is past that.
	woken bool
	// busy: a goroutine is moving it (into or out of the pool); it is
	// left alone until that reports back.
	busy bool
	// stopCheck ends the pool's own health check of it, checker.
	stopCheck func()
	checker   *health.Checker
	// wait is the lifecycle action holding it (Pending:Wait, or
	// Terminating:Wait while leaving); nil for none. writes keeps it in
	// the instance's metadata.
	wait   *hookWait
	writes *waitWrites
}

// phaseName is the member's phase as the API says it: warm pool members
// by their Auto Scaling lifecycle state (Warmed:Running, ...).
func (m *member) phaseName() string {
	if m.phase == warmed {
		return api.WarmedState(m.pool)
	}
	if m.phase == leaving && m.wait != nil {
		return api.TerminatingWait
	}
	return m.phase.String()
}

// view is what planning one service needs to know.
type view struct {
	desired int
	digest  string // the image the service should run now
	members []*member
	now     time.Time
	// grace is the Auto Scaling group's health check grace period: a
	// booting instance not healthy by then is replaced.
	grace time.Duration
	// policies order scale-in (limits.Termination*; nil is Default), and
	// protected members are never picked by it (scale-in protection).
	policies  []string
	protected map[string]bool
	// The warm pool: how many it should hold now (0 without one), the
	// state its instances wait in, and whether scale-in returns
	// instances to it.
	poolSize  int
	poolState string
	reuse     bool
	// refresh bounds an instance refresh in progress; nil for none.
	refresh *refreshBounds
	// keepOld leaves instances of an older launch template version
	// running, as an Auto Scaling group does: only a refresh replaces
	// them. A fleet file's services roll instead, as compose does.
	keepOld bool
}

// refreshBounds are an instance refresh's: the healthy percentages of
// the desired capacity to stay within, and (without SkipMatching) when
// it began: instances launched before are replaced even if current.
type refreshBounds struct {
	minHealthy, maxHealthy int
	since                  time.Time
	// upTo is how many instances may be replaced before the next
	// checkpoint; 0 without checkpoints.
	upTo int
}

// outdated reports whether m is to be replaced: during a refresh, when
// of another version or launched before it began (without
// SkipMatching); outside one, when of another version, unless the group
// keeps old ones.
func (v view) outdated(m *member) bool {
	if v.refresh != nil {
		return m.digest != v.digest || m.launched.Before(v.refresh.since)
	}
	return !v.keepOld && m.digest != v.digest
}

// replaced counts the members a refresh has made so far (launching
// ones too, so that a checkpoint is not overshot).
func (v view) replaced() int {
	n := 0
	for _, m := range v.members {
		if m.phase != leaving && !m.phase.pooled() && !v.outdated(m) {
			n++
		}
	}
	return n
}

// plan is what the controller does next for one service.
type plan struct {
	launch  int
	retire  []*member // drain, then terminate
	replace []*member // never became healthy: terminate, a new one follows
	// The warm pool's part: members taken into the group (before any
	// launch), scaled-in members returned to the pool instead of retired,
	// launches into the pool and pool members to terminate.
	enter      []*member
	toPool     []*member
	poolLaunch int
	poolDrop   []*member
}

// planService decides launches and retirements like an Auto Scaling group:
// keep `desired` instances of the current image; replace those that never
// turn healthy within the grace period; on scale-in retire the newest and
// least established first; roll outdated instances out only once enough
// current ones are in service (launch before terminate).
func planService(v view) plan {
	var p plan
	if v.refresh != nil && v.refresh.upTo > 0 && v.replaced() >= v.refresh.upTo {
		// At a checkpoint: hold what is replaced, replace no more.
		v.refresh, v.keepOld = nil, true
	}
	var current, outdated, pool []*member
	serving := 0
	for _, m := range v.members {
		if m.phase == leaving || m.phase == standby {
			continue
		}
		if m.phase.pooled() {
			pool = append(pool, m)
			continue
		}
		if m.phase == booting && v.grace > 0 && v.now.Sub(m.launched) > v.grace {
			p.replace = append(p.replace, m)
			continue
		}
		if m.phase != launching && v.outdated(m) {
			outdated = append(outdated, m)
			continue
		}
		current = append(current, m)
		if m.phase == inService {
			serving++
		}
	}
	pool, p.poolDrop = splitPool(pool, v)
	if v.refresh != nil && len(outdated) > 0 {
		pool = refreshService(&p, v, current, outdated, serving, pool)
	} else {
		pool = p.keepDesired(v, current, outdated, serving, pool)
	}
	switch n := len(pool); {
	case n < v.poolSize:
		p.poolLaunch = v.poolSize - n
	case n > v.poolSize:
		p.poolDrop = append(p.poolDrop, trimPool(pool, p.toPool, n-v.poolSize)...)
	}
	return p
}

// keepDesired is the plan outside an instance refresh: launch up to the
// desired count, scale in beyond it, and roll outdated instances out
// once as many current ones are in service (launch before terminate).
func (p *plan) keepDesired(v view, current, outdated []*member, serving int, pool []*member) []*member {
	switch {
	case len(current) < v.desired:
		p.enter, pool = takeWarm(pool, v.desired-len(current))
		p.launch = v.desired - len(current) - len(p.enter)
	case len(current) > v.desired:
		retire := pickRetirees(current, len(current)-v.desired, v.desired, v)
		serving -= countInService(retire)
		if v.reuse && v.poolSize > 0 {
			p.toPool, pool = retire, append(pool, retire...)
		} else {
			p.retire = append(p.retire, retire...)
		}
	}
	if len(outdated) > 0 && (serving >= v.desired || v.desired == 0) {
		p.retire = append(p.retire, outdated...)
	}
	return pool
}

// refreshService is the plan of an instance refresh, as Auto Scaling runs
// one: launch replacements while the instances running stay within
// MaxHealthyPercentage of the desired capacity, and terminate outdated
// instances while those in service stay at MinHealthyPercentage or more
// (rounded up). Outdated instances not in service go first: they serve
// no one.
func refreshService(p *plan, v view, current, outdated []*member, serving int, pool []*member) []*member {
	r := v.refresh
	keep := (v.desired*r.minHealthy + 99) / 100
	limit := max(v.desired, v.desired*r.maxHealthy/100)
	if want := v.desired - len(current); want > 0 {
		room := max(limit-len(current)-len(outdated), 0)
		if r.upTo > 0 {
			room = min(room, max(r.upTo-len(current), 0))
		}
		p.enter, pool = takeWarm(pool, min(want, room))
		p.launch = min(want, room) - len(p.enter)
	}
	healthy := serving
	for _, m := range outdated {
		if m.phase == inService {
			healthy++
		}
	}
	for _, m := range outdated {
		if m.phase != inService {
			p.retire = append(p.retire, m)
		} else if healthy > keep {
			p.retire = append(p.retire, m)
			healthy--
		}
	}
	if r.upTo > 0 {
		// Replace no more than the next checkpoint allows.
		p.retire = p.retire[:min(len(p.retire), max(r.upTo-len(current)-p.launch-len(p.enter), 0))]
	}
	// Bounds too tight for a small group (90 % of 3 keeps all 3 in
	// service, 100 % runs no more): one instance at a time still goes,
	// as Auto Scaling replaces at least one at a time.
	if p.launch == 0 && len(p.enter) == 0 && len(p.retire) == 0 && len(current) == serving {
		p.retire = append(p.retire, outdated[0])
	}
	return pool
}

// pickRetirees chooses up to n members to scale in: never one still
// launching (it has no instance yet; a later pass sees it), never one
// protected from scale-in, and never so many that fewer than keep
// launched instances remain while launches are pending. The termination
// policies order the rest, each breaking the ties the one before left;
// Default (and the end of any list) is booting before in service, an
// older launch template first, then newest first.
func pickRetirees(ms []*member, n, keep int, v view) []*member {
	cands := make([]*member, 0, len(ms))
	stay := 0 // protected, launched: they remain, and count towards keep
	for _, m := range ms {
		switch {
		case m.phase == launching:
		case v.protected[m.key]:
			stay++
		default:
			cands = append(cands, m)
		}
	}
	policies := append(append([]string{}, v.policies...), limits.TerminationDefault)
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		for _, p := range policies {
			switch p {
			case limits.TerminationOldestInstance:
				if !a.launched.Equal(b.launched) {
					return a.launched.Before(b.launched)
				}
			case limits.TerminationNewestInstance:
				if !a.launched.Equal(b.launched) {
					return a.launched.After(b.launched)
				}
			case limits.TerminationOldestLaunchTemplate:
				if ao, bo := a.digest != v.digest, b.digest != v.digest; ao != bo {
					return ao
				}
			case limits.TerminationDefault:
				if ea, eb := a.phase.established(), b.phase.established(); ea != eb {
					return ea < eb // booting before inService
				}
				if ao, bo := a.digest != v.digest, b.digest != v.digest; ao != bo {
					return ao
				}
				if !a.launched.Equal(b.launched) {
					return a.launched.After(b.launched)
				}
			}
		}
		return false
	})
	if most := len(cands) - max(0, min(keep-stay, len(cands))); n > most {
		n = most
	}
	return cands[:n]
}

func countInService(ms []*member) int {
	n := 0
	for _, m := range ms {
		if m.phase == inService {
			n++
		}
	}
	return n
}
