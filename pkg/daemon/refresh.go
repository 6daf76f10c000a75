package daemon

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/limits"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// An instance refresh is stored in its group: the controller replaces the
// instances within its bounds (controller.refreshService), and a watcher
// here marks its progress in the store until every instance is on its
// launch template version.

// refreshPoll is how often a refresh's progress is read.
const refreshPoll = 500 * time.Millisecond

// watchRefresh follows the group's refresh in progress, if it has one,
// until it ends; one watcher per refresh.
func (d *Daemon) watchRefresh(g store.Group) {
	r := g.Refresh
	if !r.Active() {
		return
	}
	d.mu.Lock()
	if d.refreshes == nil {
		d.refreshes = map[string]bool{}
	}
	if d.refreshes[r.ID] {
		d.mu.Unlock()
		return
	}
	d.refreshes[r.ID] = true
	ctx := d.ctx
	d.mu.Unlock()
	go func() {
		defer func() {
			d.mu.Lock()
			delete(d.refreshes, r.ID)
			d.mu.Unlock()
		}()
		t := time.NewTicker(refreshPoll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			done, err := d.refreshStep(ctx, g.Fleet, r.ID)
			if err != nil {
				d.log.Warn("instance refresh", "group", g.Name, "refresh", r.ID, "err", err)
			}
			if done {
				return
			}
		}
	}()
}

// refreshStep reads how far a refresh is and stores it; true once the
// refresh has ended (or is no longer the group's).
func (d *Daemon) refreshStep(ctx context.Context, fleet, id string) (bool, error) {
	rows, err := d.Instances(ctx)
	if err != nil {
		return false, err
	}
	scale := d.timeScaleOf(fleet)
	failures := d.refreshFailures(fleet)
	done := false
	err = d.changeRefresh(ctx, fleet, id, func(g *store.Group) bool {
		r := g.Refresh
		if n := failures[r.FailuresKey()]; n >= limits.RefreshFailures {
			done = failRefresh(g, n, time.Now())
			d.emit(api.Event{Fleet: g.Fleet, Service: g.Service, Kind: "refresh", Message: fmt.Sprintf("instance refresh %s: %s: %s", r.ID, g.Refresh.Status, g.Refresh.Reason)})
			return true
		}
		ref := fmt.Sprintf("%s:%d", g.LaunchTemplate, r.To)
		replaced, others := 0, 0
		for _, row := range rows {
			if row.Fleet != g.Fleet || row.Service != g.Service || row.Phase == "" || len(row.Phase) > 7 && row.Phase[:7] == "Warmed:" {
				continue
			}
			fresh := row.LaunchTemplate == ref && (r.SkipMatching || !row.Created.Before(r.Start))
			switch {
			case fresh && row.Phase == api.InService:
				replaced++
			case !fresh:
				others++
			}
		}
		pct := 100
		if g.Desired > 0 {
			pct = min(100, replaced*100/g.Desired)
		}
		finished := replaced >= g.Desired && others == 0
		if finished {
			pct = 100
		}
		changed := pct != r.Percentage
		r.Percentage = pct
		if !finished && checkpoint(r, time.Now(), scale) {
			d.emit(api.Event{Fleet: g.Fleet, Service: g.Service, Kind: "refresh", Message: fmt.Sprintf("instance refresh %s: checkpoint at %d %% (%d %% done), waits until %s",
				r.ID, r.Checkpoints[r.Reached-1], pct, r.PausedUntil.Format(time.TimeOnly))})
			return true
		}
		if finished {
			r.Status = map[string]string{store.RefreshInProgress: store.RefreshSuccessful, store.RefreshRollbackInProgress: store.RefreshRollbackSuccessful}[r.Status]
			r.End = time.Now().UTC()
			done = true
			d.emit(api.Event{Fleet: g.Fleet, Service: g.Service, Kind: "refresh", Message: fmt.Sprintf("instance refresh %s: %s", r.ID, r.Status)})
			return true
		}
		return changed
	})
	if errors.Is(err, errRefreshGone) {
		return true, nil
	}
	return done, err
}

// failRefresh ends g's refresh, n of whose instances failed, as Failed
// (RollbackFailed for a rollback), or turns it into its rollback when it
// asked for one; true when it ended.
func failRefresh(g *store.Group, n int, now time.Time) bool {
	r := g.Refresh
	why := fmt.Sprintf("%d instances of launch template %s version %d failed to launch or to pass their health checks", n, g.LaunchTemplate, r.To)
	ended := true
	switch {
	case r.Status == store.RefreshInProgress && r.AutoRollback:
		g.RollBack(now, why+"; rolling back to version "+strconv.Itoa(r.From))
		ended = false
	case r.Status == store.RefreshInProgress:
		r.Status, r.End, r.Reason = store.RefreshFailed, now.UTC(), why
	default:
		r.Status, r.End, r.Reason = store.RefreshRollbackFailed, now.UTC(), why
	}
	return ended
}

// refreshFailures is, per refresh (store.InstanceRefresh.FailuresKey),
// how many of its instances failed, as the fleet's controller counts.
func (d *Daemon) refreshFailures(fleet string) map[string]int {
	out := map[string]int{}
	run := d.fleet(fleet, false)
	if run == nil {
		return out
	}
	st, ok := run.status()
	if !ok {
		return out
	}
	for _, s := range st.Services {
		if f := s.RefreshFailures; f != nil {
			out[f.Of] = f.Count
		}
	}
	return out
}

// errRefreshGone is a refresh no longer in progress in its group: it
// ended, was cancelled or replaced, or its group was deleted.
var errRefreshGone = errors.New("the instance refresh is no longer in progress")

// changeRefresh changes the group's refresh id, if it is still the
// group's and in progress, through the fleet's op: stored first, then
// handed to the controller. change reports whether it changed anything.
func (d *Daemon) changeRefresh(ctx context.Context, fleet, id string, change func(*store.Group) bool) error {
	run := d.fleet(fleet, false)
	if run == nil {
		return errRefreshGone
	}
	opCtx, end, err := run.beginOp(ctx, false)
	if err != nil {
		return err
	}
	defer end()
	run.mu.Lock()
	cur := run.rec
	run.mu.Unlock()
	if cur == nil || len(cur.Services) != 1 {
		return errRefreshGone
	}
	next := cur.Clone()
	g := &next.Services[0].Group
	if g.Refresh == nil || g.Refresh.ID != id || !g.Refresh.Active() {
		return errRefreshGone
	}
	r := *g.Refresh
	g.Refresh = &r
	status, paused, version := r.Status, r.PausedUntil, g.LaunchTemplateVersion
	if !change(g) {
		return nil
	}
	if g.LaunchTemplateVersion != version {
		// A rollback: the group launches the version it replaced.
		err := d.state.db.View(opCtx, func(tx *store.Tx) (err error) {
			next.Services[0].LaunchTemplate, err = tx.LaunchTemplateVersion(g.LaunchTemplate, g.LaunchTemplateVersion)
			return err
		})
		if err != nil {
			return api.Failed(fmt.Errorf("roll back to launch template %s version %d: %w", g.LaunchTemplate, g.LaunchTemplateVersion, err))
		}
	}
	if status != g.Refresh.Status || !paused.Equal(g.Refresh.PausedUntil) {
		// The controller stops holding the refresh's bounds, holds them
		// back at a checkpoint, or rolls back.
		images, err := d.imagesOf(next)
		if err != nil {
			return api.Failed(err)
		}
		return d.reload(opCtx, run, next, images)
	}
	if err := d.state.save(opCtx, next); err != nil {
		return api.Failed(err)
	}
	run.mu.Lock()
	run.rec = next
	run.mu.Unlock()
	return nil
}

// checkpoint starts the wait at the next checkpoint r's progress has
// reached (all those passed at once count as one), and reports whether
// it did. The one at 100 % is the refresh's end, not a wait.
func checkpoint(r *store.InstanceRefresh, now time.Time, scale float64) bool {
	n := r.Reached
	for n < len(r.Checkpoints) && r.Checkpoints[n] < 100 && r.Percentage >= r.Checkpoints[n] {
		n++
	}
	if n == r.Reached {
		return false
	}
	r.Reached, r.PausedUntil = n, now.Add(limits.Scaled(r.CheckpointDelay, scale))
	return true
}

// timeScaleOf is the time scale fleet runs at.
func (d *Daemon) timeScaleOf(fleet string) float64 {
	run := d.fleet(fleet, false)
	if run == nil {
		return limits.DefaultTimeScale
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	if run.rec == nil {
		return 1
	}
	return run.rec.Fleet.Scale()
}
