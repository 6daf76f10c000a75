package spare

import (
	"context"
	"errors"
	"time"

	"github.com/vmfleet/vmfleet/pkg/instance"
)

// How spares go: evicted for room, expired, dropped with their image,
// cleaned after an earlier daemon, removed on Close.

// evictLocked removes the made spare made longest ago, to make room;
// false if every slot is still being made.
func (p *Pool) evictLocked() bool {
	var oldest *slot
	for _, s := range p.slots {
		select {
		case <-s.ready:
		default:
			continue
		}
		if oldest == nil || s.made.Before(oldest.made) {
			oldest = s
		}
	}
	if oldest == nil {
		return false
	}
	delete(p.slots, oldest.key)
	p.removeAsync(oldest.inst)
	return true
}

// expire removes spares older than Idle.
func (p *Pool) expire() {
	defer p.wg.Done()
	t := time.NewTicker(min(p.opts.Idle/4, time.Minute))
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
		p.mu.Lock()
		for key, s := range p.slots {
			select {
			case <-s.ready:
				if s.inst != nil && time.Since(s.made) > p.opts.Idle {
					delete(p.slots, key)
					p.removeAsync(s.inst)
				}
			default:
			}
		}
		p.mu.Unlock()
	}
}

// removeLimit bounds the removal of one spare (destroy, undefine).
const removeLimit = 30 * time.Second

// remove terminates a spare that no launch will take.
func (p *Pool) remove(inst *instance.Instance) {
	if inst == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), removeLimit)
	defer cancel()
	if err := p.maker.Terminate(ctx, inst, 0); err != nil {
		p.opts.Log.Warn("remove a spare", "instance", inst.ID, "err", err)
		return
	}
	p.disown(inst.ID)
}

// disown forgets a spare the pool made, once taken or removed.
func (p *Pool) disown(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.own, id)
}

func (p *Pool) removeAsync(inst *instance.Instance) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.remove(inst)
	}()
}

// DropImage removes the spares of the image with digest (being made
// ones once made), before that image's disk goes.
func (p *Pool) DropImage(digest string) {
	p.mu.Lock()
	var drop []*slot
	for key, s := range p.slots {
		if s.opts.Image != nil && s.opts.Image.Digest == digest {
			drop = append(drop, s)
			delete(p.slots, key)
			if !s.started {
				close(s.skip)
			}
		}
	}
	p.mu.Unlock()
	for _, s := range drop {
		<-s.ready
		p.remove(s.inst)
	}
}

// Clean removes the spares an earlier daemon left (it did not Close),
// and none of this pool's own, made or being made or taken: the daemon
// cleans while it serves runs.
func (p *Pool) Clean(ctx context.Context) error {
	p.making.Lock()
	defer p.making.Unlock()
	left, err := p.maker.Spares(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, inst := range left {
		p.mu.Lock()
		own := p.own[inst.ID]
		p.mu.Unlock()
		if !own {
			errs = append(errs, p.maker.Terminate(ctx, inst, 0))
		}
	}
	return errors.Join(errs...)
}

// Close stops making spares and removes those made.
func (p *Pool) Close() {
	p.cancel()
	p.mu.Lock()
	slots := p.slots
	p.slots = map[string]*slot{}
	p.mu.Unlock()
	p.wg.Wait()
	for _, s := range slots {
		p.remove(s.inst)
	}
}
