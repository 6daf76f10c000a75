package spare

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/image"
	"github.com/vmfleet/vmfleet/pkg/instance"
)

// maker is a fake instance manager: it records what the pool asks of it.
type maker struct {
	mu          sync.Mutex
	n           int
	calls       []string // "launch web", "prepare web", "take s-1", "terminate s-1"
	prepared    []instance.Options
	takeErr     error
	prepareGate chan struct{} // when set, Prepare waits for it
	takeGate    chan struct{} // when set, Take waits for it
	// left are the spares' domains, as libvirt lists them: an earlier
	// daemon's, and each made from the start of its Prepare until taken
	// or terminated.
	left []*instance.Instance
}

func (f *maker) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *maker) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Prepared is the options of every spare made so far.
func (f *maker) Prepared() []instance.Options {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.prepared)
}

func (f *maker) next(prefix string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	return fmt.Sprintf("%s-%d", prefix, f.n)
}

func (f *maker) Launch(ctx context.Context, o instance.Options) (*instance.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.record("launch " + o.Image.Name)
	return &instance.Instance{ID: f.next("i")}, nil
}

func (f *maker) Prepare(ctx context.Context, o instance.Options) (*instance.Instance, error) {
	inst := &instance.Instance{ID: f.next("s")}
	f.mu.Lock()
	gate := f.prepareGate
	f.prepared = append(f.prepared, o)
	f.left = append(f.left, inst) // its domain is defined first
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.record("prepare " + o.Image.Name)
	return inst, nil
}

func (f *maker) Take(ctx context.Context, inst *instance.Instance, o instance.Options) error {
	f.mu.Lock()
	gate := f.takeGate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.record("take " + inst.ID)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.takeErr == nil {
		f.drop(inst.ID) // an instance now
	}
	return f.takeErr
}

func (f *maker) Terminate(ctx context.Context, inst *instance.Instance, grace time.Duration) error {
	f.record("terminate " + inst.ID)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drop(inst.ID)
	return nil
}

// drop takes id off the spares' list; f.mu held.
func (f *maker) drop(id string) {
	f.left = slices.DeleteFunc(f.left, func(i *instance.Instance) bool { return i.ID == id })
}

func (f *maker) Spares(ctx context.Context) ([]*instance.Instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.left), nil
}

func opts(name string) instance.Options {
	return instance.Options{Image: &image.Manifest{Name: name, Digest: "digest-of-" + name}, CPU: 0.5, MemoryBytes: 128 << 20}
}

// eventually waits for cond, which a pool's goroutines make true.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// made says whether the pool lists n spares, every one made.
func made(p *Pool, n int) func() bool {
	return func() bool {
		l := p.List()
		return len(l) == n && !slices.ContainsFunc(l, func(s Spare) bool { return s.Instance == "" })
	}
}

func has(f *maker, call string) func() bool {
	return func() bool { return slices.Contains(f.Calls(), call) }
}

// pool is a pool of max spares that keeps them an hour.
func pool(f *maker, max int) *Pool { return New(f, Options{Max: max, Idle: time.Hour}) }

// twice launches o's kind twice, which has its spare made.
func twice(t *testing.T, p *Pool, o instance.Options) {
	t.Helper()
	launch(t, p, o)
	launch(t, p, o)
}

func launch(t *testing.T, p *Pool, o instance.Options) *instance.Instance {
	t.Helper()
	inst, err := p.Launch(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// A kind launched once gets no spare; launched again, it gets one,
// which its next launch takes, and so on.
func TestAKindLaunchedAgainGetsASpareItsNextLaunchTakes(t *testing.T) {
	f := &maker{}
	p := pool(f, 2)
	defer p.Close()
	if got := launch(t, p, opts("web")); got.ID != "i-1" {
		t.Fatalf("first launch = %s, want a launch", got.ID)
	}
	time.Sleep(10 * time.Millisecond)
	if n := len(f.Prepared()); n != 0 {
		t.Fatalf("%d spares made after one launch of a kind", n)
	}
	if got := launch(t, p, opts("web")); got.ID != "i-2" {
		t.Fatalf("second launch = %s, want a launch", got.ID)
	}
	eventually(t, "a spare made", has(f, "prepare web"))
	if got := launch(t, p, opts("web")); got.ID != "s-3" {
		t.Fatalf("third launch = %s, want the spare s-3", got.ID)
	}
	eventually(t, "the next spare made", func() bool { return len(f.Prepared()) == 2 })
	want := []string{"launch web", "launch web", "prepare web", "take s-3", "prepare web"}
	if got := f.Calls(); !slices.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
}

func TestAKindLaunchedAgainAfterIdleGetsNoSpare(t *testing.T) {
	f := &maker{}
	p := New(f, Options{Max: 2, Idle: 20 * time.Millisecond})
	defer p.Close()
	launch(t, p, opts("web"))
	time.Sleep(40 * time.Millisecond)
	launch(t, p, opts("web"))
	time.Sleep(10 * time.Millisecond)
	if n := len(f.Prepared()); n != 0 {
		t.Errorf("%d spares made for launches further apart than Idle", n)
	}
}

func TestASpareServesOnlyLaunchesOfItsKind(t *testing.T) {
	f := &maker{}
	p := pool(f, 2)
	defer p.Close()
	twice(t, p, opts("web"))
	eventually(t, "a spare made", has(f, "prepare web"))
	other := opts("web")
	other.CPU = 1 // another cap: another domain
	if got := launch(t, p, other); got.ID[0] != 'i' {
		t.Errorf("a launch at another cap took spare %s", got.ID)
	}
	if got := launch(t, p, opts("api")); got.ID[0] != 'i' {
		t.Errorf("a launch of another image took spare %s", got.ID)
	}
}

func TestASpareCarriesNoneOfTheLaunchsOwn(t *testing.T) {
	f := &maker{}
	p := pool(f, 1)
	defer p.Close()
	o := opts("web")
	o.HostPort, o.Env, o.UserData = 8080, []string{"TOKEN=secret"}, []byte("#!/bin/sh")
	twice(t, p, o)
	eventually(t, "a spare made", has(f, "prepare web"))
	got := f.Prepared()[0]
	if got.HostPort != 0 || got.Env != nil || got.UserData != nil {
		t.Errorf("the spare was made with the launch's host port %d, env %q, user data %q", got.HostPort, got.Env, got.UserData)
	}
	// Yet it serves that launch's kind: those are handed over at Take.
	if instance.SpareKey(got) != instance.SpareKey(o) {
		t.Errorf("spare kind %q, launch kind %q", instance.SpareKey(got), instance.SpareKey(o))
	}
}

func TestASpareThatCannotBeTakenIsRemovedAndTheLaunchGoesOn(t *testing.T) {
	f := &maker{takeErr: errors.New("the guest did not wake")}
	p := pool(f, 1)
	defer p.Close()
	twice(t, p, opts("web"))
	eventually(t, "a spare made", has(f, "prepare web"))
	if got := launch(t, p, opts("web")); got.ID[0] != 'i' {
		t.Fatalf("launch = %s, want a launch of its own", got.ID)
	}
	if !has(f, "terminate s-3")() {
		t.Errorf("the spare was not removed: %q", f.Calls())
	}
}

func TestALaunchWaitsForASpareBeingMade(t *testing.T) {
	gate := make(chan struct{})
	f := &maker{prepareGate: gate}
	p := pool(f, 1)
	defer p.Close()
	twice(t, p, opts("web"))
	eventually(t, "a spare begun", func() bool { return len(f.Prepared()) == 1 })
	got := make(chan *instance.Instance)
	go func() { got <- launch(t, p, opts("web")) }()
	time.Sleep(20 * time.Millisecond)
	close(gate)
	if inst := <-got; inst.ID != "s-3" {
		t.Errorf("launch = %s, want the spare it waited for", inst.ID)
	}
}

func TestALaunchDoesNotWaitForASpareNotBegun(t *testing.T) {
	f := &maker{}
	p := New(f, Options{Max: 1, Idle: time.Hour, Delay: time.Hour})
	defer p.Close()
	twice(t, p, opts("web"))
	done := make(chan *instance.Instance)
	go func() { done <- launch(t, p, opts("web")) }()
	select {
	case inst := <-done:
		if inst.ID[0] != 'i' {
			t.Errorf("launch = %s, want a launch of its own", inst.ID)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the launch waited for a spare whose making had not begun")
	}
}

func TestAtMostMaxSparesTheOneMadeLongestAgoGivesWay(t *testing.T) {
	f := &maker{}
	p := pool(f, 2)
	defer p.Close()
	for _, name := range []string{"a", "b", "c"} {
		twice(t, p, opts(name))
		eventually(t, "spare of "+name, has(f, "prepare "+name))
	}
	eventually(t, "the oldest removed", has(f, "terminate s-3"))
	kinds := p.List()
	if len(kinds) != 2 || kinds[0].Kind != instance.SpareKey(opts("b")) || kinds[1].Kind != instance.SpareKey(opts("c")) {
		t.Errorf("spares %+v, want b's and c's", kinds)
	}
}

func TestWithoutSparesOrForAColdBootEveryLaunchIsItsOwn(t *testing.T) {
	f := &maker{}
	off := New(f, Options{Max: 0})
	defer off.Close()
	launch(t, off, opts("web"))
	cold := pool(f, 1)
	defer cold.Close()
	o := opts("web")
	o.ColdBoot = true
	launch(t, cold, o)
	time.Sleep(10 * time.Millisecond)
	if want := []string{"launch web", "launch web"}; !slices.Equal(f.Calls(), want) {
		t.Errorf("calls %q, want %q", f.Calls(), want)
	}
}
