package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/image"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// Bake bakes an image, or finds the one the same inputs made before.
func (d *Daemon) Bake(ctx context.Context, req api.BakeRequest) (api.BakeResult, error) {
	r := image.Recipe{Name: req.Name, Binary: req.Binary, Rootfs: req.Rootfs, Env: req.Env, Port: req.Port, Command: req.Command}
	for _, s := range req.Copies {
		cp, err := image.ParseCopy(s)
		if err != nil {
			return api.BakeResult{}, api.Invalid(err)
		}
		r.Copies = append(r.Copies, cp)
	}
	// The recipe first, so the user's mistake is the error they see.
	if err := r.Validate(); err != nil {
		return api.BakeResult{}, api.Invalid(err)
	}
	in, err := d.cfg.Inputs(req.KernelVersion, req.Init)
	if err != nil {
		return api.BakeResult{}, api.Invalid(err)
	}
	start := time.Now()
	res, err := d.images.Bake(ctx, r, in)
	if err != nil {
		// What the bake refuses is the recipe's fault; api.Classify keeps
		// a full disk or a cancelled bake a failure.
		return api.BakeResult{}, api.Invalid(err)
	}
	return api.BakeResult{Image: imageOf(res.Manifest), Cached: res.Cached, Took: time.Since(start)}, nil
}

// Images lists the baked images.
func (d *Daemon) Images() ([]api.Image, error) {
	list, err := d.images.List()
	if err != nil {
		return nil, api.Failed(err)
	}
	out := []api.Image{}
	for _, m := range list {
		out = append(out, imageOf(m))
	}
	return out, nil
}

// RemoveImage removes an image no instance uses, then the images earlier
// bakes left unnamed that nothing boots.
func (d *Daemon) RemoveImage(ctx context.Context, ref string) (api.Image, error) {
	m, err := d.images.Get(ref)
	if err != nil {
		return api.Image{}, api.NotFound(err)
	}
	insts, err := d.instances.List(ctx)
	if err != nil {
		return api.Image{}, api.Failed(err)
	}
	for _, i := range insts {
		if i.ImageDigest == m.Digest {
			return api.Image{}, api.Conflict(fmt.Errorf("image %s is used by instance %s (%s); remove it first with vmfleet rm %s", ref, i.ID, i.State, i.ID))
		}
	}
	d.spares.DropImage(m.Digest)
	if err := d.images.Remove(m.Digest); err != nil {
		return api.Image{}, api.Failed(err)
	}
	d.prune(ctx)
	return imageOf(m), nil
}

func imageOf(m *image.Manifest) api.Image {
	id, _ := store.ImageID(m.Digest) // a manifest's digest is a sha256
	return api.Image{Name: m.Name, Digest: m.Digest, ImageID: id, Source: m.Source, Command: m.Command, Env: m.Env, Port: m.Port,
		KernelVersion: m.KernelVersion, Kernel: m.Kernel, Initrd: m.Initrd, Disk: m.Disk, DiskVirtual: m.DiskVirtual,
		SizeBytes: m.SizeBytes, Created: m.Created}
}
