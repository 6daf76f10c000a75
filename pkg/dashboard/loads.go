package dashboard

import (
	"context"
	"log/slog"
	"sync"
	"time"

	traffic "github.com/vmfleet/vmfleet/pkg/load"
)

// loads are the loads the page started, at most one per service: a new
// one (the slider moved) replaces the one running. Each is bounded by
// package load's limits and stops with the server.
type loads struct {
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu   sync.Mutex
	runs map[string]*loadRun
}

type loadRun struct {
	stop context.CancelFunc
	view loadView
}

func newLoads(log *slog.Logger) *loads {
	ctx, cancel := context.WithCancel(context.Background())
	return &loads{log: log, ctx: ctx, cancel: cancel, runs: map[string]*loadRun{}}
}

// start runs o against service key, in place of its running load.
func (l *loads) start(key string, o traffic.Options) error {
	if err := o.Check(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ctx.Err() != nil {
		return context.Canceled
	}
	if old := l.runs[key]; old != nil {
		old.stop()
	}
	ctx, stop := context.WithCancel(l.ctx)
	run := &loadRun{stop: stop, view: loadView{Rate: o.Rate, Seconds: int(o.For / time.Second), Running: true}}
	l.runs[key] = run
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer stop()
		update := func(rep traffic.Report) {
			l.mu.Lock()
			run.view.Report = rep
			l.mu.Unlock()
		}
		rep, err := traffic.Run(ctx, o, time.Second, update)
		l.mu.Lock()
		run.view.Report, run.view.Running = rep, false
		if err != nil {
			run.view.Error = err.Error()
		}
		l.mu.Unlock()
		l.log.Info("dashboard: load ended", "service", key, "report", rep.String())
	}()
	return nil
}

// stop ends service key's load; false when none runs.
func (l *loads) stop(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	run := l.runs[key]
	if run == nil || !run.view.Running {
		return false
	}
	run.stop()
	return true
}

// reports are every load's view, by service.
func (l *loads) reports() map[string]loadView {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]loadView, len(l.runs))
	for k, r := range l.runs {
		out[k] = r.view
	}
	return out
}

// stopAll ends every load and waits for them.
func (l *loads) stopAll() {
	l.mu.Lock()
	l.cancel() // under mu: no start after it
	l.mu.Unlock()
	l.wg.Wait()
}
