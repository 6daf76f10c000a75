package daemon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/instance"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// RunFromTemplate launches a standalone instance, as `vmfleet run` does,
// of what a launch template version says (RunInstances), with its type
// and tags as EC2 keeps them.
func (d *Daemon) RunFromTemplate(ctx context.Context, v store.LaunchTemplateVersion, tags map[string]string) (api.InstanceRow, error) {
	m, err := d.images.Get(v.ImageDigest)
	if err != nil {
		return api.InstanceRow{}, api.NotFound(err)
	}
	o := instance.Options{Image: m, CPU: v.CPU, MemoryBytes: v.MemoryBytes, HostPorts: v.Egress.HostPorts, Internet: v.Egress.Internet,
		MetadataOptions: v.MetadataOptions, InstanceType: v.InstanceType, Tags: tagList(tags)}
	for _, k := range slices.Sorted(maps.Keys(v.Env)) {
		o.Env = append(o.Env, k+"="+v.Env[k])
	}
	if v.Template != "" {
		o.Template = v.Ref()
	}
	if v.UserData != "" {
		o.UserData = []byte(v.UserData)
	}
	inst, err := d.spares.Launch(ctx, o)
	if err != nil {
		if instance.Permanent(err) {
			return api.InstanceRow{}, api.Invalid(err)
		}
		return api.InstanceRow{}, api.Failed(err)
	}
	return rowOf(inst), nil
}

// TagInstance sets and removes an instance's own tags (CreateTags,
// DeleteTags): a removal with a value removes the tag only with it.
func (d *Daemon) TagInstance(ctx context.Context, id string, set map[string]string, remove map[string]*string) error {
	inst, err := d.instances.Get(ctx, id)
	if errors.Is(err, instance.ErrNoInstance) || err == nil && !d.owns(inst) {
		return api.NotFound(fmt.Errorf("no instance %s", id))
	} else if err != nil {
		return api.Failed(err)
	}
	tags := tagsOf(inst.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	maps.Copy(tags, set)
	for k, v := range remove {
		if v == nil || tags[k] == *v {
			delete(tags, k)
		}
	}
	if err := d.instances.Label(ctx, inst, inst.InstanceType, tagList(tags)); err != nil {
		return api.Failed(err)
	}
	return nil
}

func tagList(m map[string]string) []instance.Tag {
	var out []instance.Tag
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, instance.Tag{Key: k, Value: m[k]})
	}
	return out
}
