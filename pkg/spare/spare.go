// Package spare keeps, for each kind of instance `run` launched
// lately, one instance made ahead and paused before its wake (see
// instance.Manager.Prepare), so the next run of that kind skips QEMU's
// start and the restore: AWS keeps warm capacity the same way behind
// Lambda's provisioned concurrency. A pool holds at most Max spares,
// each for at most Idle since it was made, and removes them all on Close.
package spare

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/vmfleet/vmfleet/pkg/instance"
)

// Maker is what a pool needs of the instance manager.
type Maker interface {
	Launch(ctx context.Context, o instance.Options) (*instance.Instance, error)
	Prepare(ctx context.Context, o instance.Options) (*instance.Instance, error)
	Take(ctx context.Context, inst *instance.Instance, o instance.Options) error
	Terminate(ctx context.Context, inst *instance.Instance, grace time.Duration) error
	Spares(ctx context.Context) ([]*instance.Instance, error)
}

// Defaults: one spare per kind for two kinds (a paused 128 MiB guest
// holds about as much host memory as its restored pages), kept for ten
// minutes; made a second after the launch that used the last one, so
// that launch's guest has the CPU while its service starts.
const (
	DefaultMax   = 2
	DefaultIdle  = 10 * time.Minute
	DefaultDelay = time.Second
)

// Options configure a Pool.
type Options struct {
	// Max spares at once; 0 makes none (every launch is Maker.Launch).
	Max int
	// Idle is how long a spare waits for a launch before it is removed.
	Idle time.Duration
	// Delay is how long after a launch its kind's next spare is made.
	Delay time.Duration
	Log   *slog.Logger
}

// Pool is the spares of one daemon.
type Pool struct {
	maker  Maker
	opts   Options
	ctx    context.Context // the pool's life: spares are made in it
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	slots map[string]*slot // by instance.SpareKey
	// last is when each kind was last launched: a kind gets a spare
	// once it is launched again within Idle, so one-off runs cost none.
	last map[string]time.Time
	// own are the spares the pool made, by instance id, until taken or
	// removed: Clean leaves them.
	own map[string]bool
	// making is held shared while a spare is made (its domain exists
	// before its id is in own) and alone by Clean.
	making sync.RWMutex
}

// slot is one kind's spare: waiting to be made, being made, or made.
type slot struct {
	key     string
	opts    instance.Options
	ready   chan struct{} // closed once made (or failed)
	inst    *instance.Instance
	err     error
	made    time.Time
	started bool // Prepare began: waiting for it beats a new launch
	skip    chan struct{}
}

// New starts a pool; Close ends it.
func New(maker Maker, opts Options) *Pool {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pool{maker: maker, opts: opts, ctx: ctx, cancel: cancel, slots: map[string]*slot{}, last: map[string]time.Time{}, own: map[string]bool{}}
	if opts.Max > 0 && opts.Idle > 0 {
		p.wg.Add(1)
		go p.expire()
	}
	return p
}

// Launch launches an instance of o: from its kind's spare when there is
// one (waiting for it if it is being made), else by instance.Manager's
// Launch; then, if the kind was launched before within Idle, it has the
// kind's next spare made.
func (p *Pool) Launch(ctx context.Context, o instance.Options) (*instance.Instance, error) {
	if p.opts.Max <= 0 || o.ColdBoot {
		return p.maker.Launch(ctx, o)
	}
	key := instance.SpareKey(o)
	if inst := p.claim(ctx, key); inst != nil {
		err := p.maker.Take(ctx, inst, o)
		if err == nil {
			p.disown(inst.ID)
			p.again(key)
			p.replenish(key, o)
			return inst, nil
		}
		p.opts.Log.Warn("a spare could not be taken; launching", "instance", inst.ID, "err", err)
		p.remove(inst)
		if instance.Permanent(err) {
			return nil, err
		}
	}
	inst, err := p.maker.Launch(ctx, o)
	if err == nil && p.again(key) {
		p.replenish(key, o)
	}
	return inst, err
}

// again notes a launch of key's kind and says whether it had one within
// Idle before.
func (p *Pool) again(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	prev, ok := p.last[key]
	p.last[key] = now
	for k, t := range p.last {
		if now.Sub(t) > p.opts.Idle {
			delete(p.last, k)
		}
	}
	return ok && now.Sub(prev) <= p.opts.Idle
}

// claim takes key's spare out of the pool, once made; nil if there is
// none, or none under way.
func (p *Pool) claim(ctx context.Context, key string) *instance.Instance {
	p.mu.Lock()
	s := p.slots[key]
	started := s != nil && s.started
	if s != nil {
		delete(p.slots, key)
	}
	p.mu.Unlock()
	if s == nil {
		return nil
	}
	select {
	case <-s.ready:
	default:
		if !started {
			close(s.skip) // not begun: a launch now is as quick
			return nil
		}
		select {
		case <-s.ready:
		case <-ctx.Done():
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				<-s.ready
				p.remove(s.inst)
			}()
			return nil
		}
	}
	if s.err != nil {
		return nil
	}
	return s.inst
}

// replenish has key's next spare made (after Delay), room allowing:
// the kind least lately made gives way.
func (p *Pool) replenish(key string, o instance.Options) {
	// The spare must not carry this launch's own: its host port, its
	// env (its fw_cfg would hold it), its user data.
	o.HostPort, o.Env, o.UserData = 0, nil, nil
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx.Err() != nil || p.slots[key] != nil {
		return
	}
	if len(p.slots) >= p.opts.Max && !p.evictLocked() {
		return
	}
	s := &slot{key: key, opts: o, ready: make(chan struct{}), skip: make(chan struct{})}
	p.slots[key] = s
	p.wg.Add(1)
	go p.make(s)
}

// make prepares s's spare once Delay has passed.
func (p *Pool) make(s *slot) {
	defer p.wg.Done()
	defer close(s.ready)
	select {
	case <-time.After(p.opts.Delay):
	case <-s.skip:
		s.err = errors.New("claimed before it was begun")
		return
	case <-p.ctx.Done():
		s.err = p.ctx.Err()
		return
	}
	p.mu.Lock()
	if p.slots[s.key] != s {
		p.mu.Unlock()
		s.err = errors.New("evicted before it was begun")
		return
	}
	s.started = true
	p.mu.Unlock()
	begin := time.Now()
	p.making.RLock()
	inst, err := p.maker.Prepare(p.ctx, s.opts)
	p.mu.Lock()
	s.inst, s.err, s.made = inst, err, time.Now()
	if inst != nil {
		p.own[inst.ID] = true
	}
	p.mu.Unlock()
	p.making.RUnlock()
	if s.err != nil {
		p.opts.Log.Warn("make a spare", "kind", s.key, "err", s.err)
		p.mu.Lock()
		if p.slots[s.key] == s {
			delete(p.slots, s.key)
		}
		p.mu.Unlock()
		return
	}
	p.opts.Log.Info("spare made", "kind", s.key, "instance", s.inst.ID, "took", s.made.Sub(begin).Round(time.Millisecond))
}

// Spare is one kind's spare, as info shows it.
type Spare struct {
	Kind     string
	Instance string // empty while it is being made
	Made     time.Time
}

// List is the pool's spares, by kind.
func (p *Pool) List() []Spare {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := []Spare{}
	for _, s := range p.slots {
		st := Spare{Kind: s.key}
		select {
		case <-s.ready:
			if s.inst != nil {
				st.Instance, st.Made = s.inst.ID, s.made
			}
		default:
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}
