package ec2api

import (
	"context"
	"fmt"

	"github.com/vmfleet/vmfleet/pkg/store"
)

// follow moves the groups that launch from template's $Latest or
// $Default to the version that now is, as Auto Scaling resolves them at
// each launch: their next launches use it, the instances running stay
// (an instance refresh replaces them). A group in a refresh keeps the
// version the refresh rolls out.
func (e *EC2) follow(ctx context.Context, template string) error {
	var moved []store.Group
	err := e.view(ctx, func(tx *store.Tx) error {
		lt, err := tx.GetLaunchTemplate(template)
		if err != nil {
			return err
		}
		groups, err := tx.ListGroups()
		for _, g := range groups {
			v, ok := store.FollowedVersion(lt, g.LaunchTemplateAlias)
			if ok && g.LaunchTemplate == template && v != g.LaunchTemplateVersion && !g.Refresh.Active() {
				g.LaunchTemplateVersion = v
				moved = append(moved, g)
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, g := range moved {
		if err := e.Runtime.UpdateGroup(ctx, g); err != nil {
			return fmt.Errorf("group %s, which launches from %s %s: %w", g.Name, template, g.LaunchTemplateAlias, err)
		}
	}
	return nil
}
