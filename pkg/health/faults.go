package health

import (
	"context"
	"errors"
	"sync"
)

// Faults fails the health checks of chosen targets for a while, as if
// each check had failed (vmfleet fault unhealthy): whoever owns it wraps
// the probes and watches it hands to checkers with Probe and Watch, and
// a failing target's checks fail without reaching it. The zero value
// fails nothing; a nil *Faults wraps nothing.
type Faults struct {
	mu      sync.Mutex
	failing map[string][]*error // by target; the first is reported
	changed chan struct{}       // closed and replaced at every change
}

// Fail fails target's checks with err until end is called; faults on one
// target stack.
func (f *Faults) Fail(target string, err error) (end func()) {
	e := &err
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failing == nil {
		f.failing = map[string][]*error{}
	}
	f.failing[target] = append(f.failing[target], e)
	f.notify()
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			rest := f.failing[target]
			for i, x := range rest {
				if x == e {
					rest = append(rest[:i:i], rest[i+1:]...)
					break
				}
			}
			if len(rest) == 0 {
				delete(f.failing, target)
			} else {
				f.failing[target] = rest
			}
			f.notify()
		})
	}
}

// notify wakes the watches; f.mu held.
func (f *Faults) notify() {
	if f.changed != nil {
		close(f.changed)
	}
	f.changed = make(chan struct{})
}

// state is what target's checks fail with now (nil: nothing), and a
// channel closed at the next change.
func (f *Faults) state(target string) (error, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.changed == nil {
		f.changed = make(chan struct{})
	}
	if errs := f.failing[target]; len(errs) > 0 {
		return injected{*errs[0]}, f.changed
	}
	return nil, f.changed
}

// injected is a check failed by a fault, not run.
type injected struct{ error }

func (e injected) Unwrap() error { return e.error }

// Probe wraps p (nil: probe from here) so that a failing target's check
// fails.
func (f *Faults) Probe(p Prober) Prober {
	if f == nil {
		return p
	}
	return func(ctx context.Context, check Check, target string) error {
		if err, _ := f.state(target); err != nil {
			return err
		}
		if p == nil {
			return check.Probe(ctx, target)
		}
		return p(ctx, check, target)
	}
}

// Watch wraps w (nil: no watches) so that a watch of a failing target
// fails at once, and one running ends when its target starts failing:
// the checker then counts a failed check each interval, as for a target
// whose checks fail.
func (f *Faults) Watch(w Watcher) Watcher {
	if f == nil || w == nil {
		return w
	}
	return func(ctx context.Context, check Check, target string, from State, report func(State, string)) error {
		err, changed := f.state(target)
		if err != nil {
			return err
		}
		wctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		go func(changed <-chan struct{}) {
			for {
				select {
				case <-wctx.Done():
					return
				case <-changed:
				}
				var err error
				if err, changed = f.state(target); err != nil {
					cancel(err)
					return
				}
			}
		}(changed)
		werr := w(wctx, check, target, from, report)
		if cause := context.Cause(wctx); ctx.Err() == nil && errors.As(cause, new(injected)) {
			return cause
		}
		return werr
	}
}
