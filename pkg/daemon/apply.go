package daemon

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/client"
	"github.com/vmfleet/vmfleet/pkg/fleetfile"
	"github.com/vmfleet/vmfleet/pkg/image"
	"github.com/vmfleet/vmfleet/pkg/limits"
	"github.com/vmfleet/vmfleet/pkg/stack"
)

// Apply makes a fleet file so: parse, compute the change against the
// recorded state, and (unless a dry run) bake, record and hand it to the
// fleet's controller. It returns once the change is made, not once the
// fleet is in service: the client waits for that.
func (d *Daemon) Apply(ctx context.Context, req api.ApplyRequest) (api.ApplyResult, error) {
	f, err := fleetfile.Load(req.File, fleetfile.WithReadFile(client.FilesOf(req)))
	if err != nil {
		return api.ApplyResult{}, api.Invalid(err)
	}
	if req.TimeScale != 0 {
		if err := limits.CheckTimeScale(req.TimeScale); err != nil {
			return api.ApplyResult{}, api.Invalid(fmt.Errorf("--time-scale: %w", err))
		}
		f.TimeScale = req.TimeScale
	}
	in, err := d.cfg.Inputs(req.KernelVersion, req.Init)
	if err != nil {
		return api.ApplyResult{}, api.Invalid(err)
	}
	run := d.fleet(f.Name, !req.DryRun)
	if run == nil { // a dry run of a fleet never applied
		next, err := d.compile(f, in, req.BootCPUs, nil)
		if err != nil {
			return api.ApplyResult{}, err
		}
		return api.ApplyResult{Fleet: f.Name, Changes: stack.Diff(nil, &next)}, nil
	}
	opCtx, end, err := run.beginOp(ctx, false)
	if err != nil {
		return api.ApplyResult{}, err
	}
	defer end()

	run.mu.Lock()
	cur, running := run.rec, run.ctrl != nil
	run.mu.Unlock()
	if cur != nil && cur.Fleet.FromAPI() {
		return api.ApplyResult{}, api.Invalid(fmt.Errorf("%s is an Auto Scaling group made through the AWS API; name the fleet otherwise, or delete the group (aws autoscaling delete-auto-scaling-group --force-delete, or vmfleet down --fleet %s)", f.Name, f.Name))
	}
	next, err := d.compile(f, in, req.BootCPUs, cur)
	if err != nil {
		return api.ApplyResult{}, err
	}
	changes := stack.Diff(cur, &next)
	res := api.ApplyResult{Fleet: f.Name, Changes: changes}
	if cur != nil {
		res.Generation = cur.Fleet.Generation
	}
	// A first apply that fails leaves nothing behind: no fleet, no record.
	abandon := func() {
		if cur == nil {
			d.forget(run)
			if err := d.state.discard(context.WithoutCancel(ctx), &next); err != nil {
				d.log.Warn("forget a fleet that did not start", "fleet", f.Name, "err", err)
			}
		}
	}
	if req.DryRun || (len(changes) == 0 && running) {
		if cur == nil {
			d.forget(run)
		}
		return res, nil
	}

	// A down cancels opCtx: whichever step it stops says so.
	takenDown := func(err error) error {
		if opCtx.Err() != nil && ctx.Err() == nil {
			return api.Conflict(fmt.Errorf("apply %s: the fleet was taken down meanwhile", f.Name))
		}
		return err
	}
	images, err := d.bake(opCtx, f, in)
	if err != nil {
		abandon()
		return res, takenDown(err)
	}
	if err := d.state.versions(opCtx, &next); err != nil {
		abandon()
		return res, takenDown(api.Failed(err))
	}
	if !running {
		if err := d.start(&next, images); err != nil {
			abandon()
			return res, err
		}
	} else if err := d.reload(opCtx, run, &next, images); err != nil {
		return res, err
	}
	res.Generation = next.Fleet.Generation
	return res, nil
}

// compile is the stack a fleet file makes, with what cur, the running
// stack, carries over (see stack.Inherit). The images' digests are
// computed without baking.
func (d *Daemon) compile(f *fleetfile.Fleet, in image.Inputs, bootCPUs float64, cur *stack.Stack) (stack.Stack, error) {
	digests := map[string]string{}
	for _, s := range f.Services {
		dg, err := d.images.Digest(recipe(f, s), in)
		if err != nil {
			return stack.Stack{}, api.Invalid(fmt.Errorf("service %s: %w", s.Name, err))
		}
		digests[s.Name] = dg
	}
	next := stack.Compile(f, digests, bootCPUs)
	next.Inherit(cur)
	return next, nil
}

// recipe is how a service's image is baked: <fleet>-<service>.
func recipe(f *fleetfile.Fleet, s *fleetfile.Service) *image.Recipe {
	r := &image.Recipe{
		Name: stack.ResourceName(f.Name, s.Name), Binary: s.Image.Binary, Rootfs: s.Image.Rootfs,
		Command: s.Command, Port: s.Port, Env: sortedEnv(s.Env),
	}
	for _, cp := range s.Image.Copies {
		r.Copies = append(r.Copies, image.Copy{Src: cp.Src, Dst: cp.Dst})
	}
	return r
}

func sortedEnv(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// bake bakes (or finds cached) every service's image, in start order.
func (d *Daemon) bake(ctx context.Context, f *fleetfile.Fleet, in image.Inputs) (map[string]*image.Manifest, error) {
	out := map[string]*image.Manifest{}
	for _, s := range f.StartOrder() {
		start := time.Now()
		r := recipe(f, s)
		res, err := d.images.Bake(ctx, *r, in, image.OnBuild(func() {
			d.emit(api.Event{Fleet: f.Name, Service: s.Name, Kind: "image", Message: "baking " + r.Name})
		}))
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil, err
			}
			return nil, api.Invalid(fmt.Errorf("service %s: %w", s.Name, err))
		}
		how := "baked"
		if res.Cached {
			how = "unchanged"
		}
		d.emit(api.Event{Fleet: f.Name, Service: s.Name, Kind: "image",
			Message: fmt.Sprintf("%s %s %s in %s", how, res.Manifest.Name, res.Manifest.ShortDigest(), time.Since(start).Round(time.Millisecond))})
		out[s.Name] = res.Manifest
	}
	return out, nil
}
