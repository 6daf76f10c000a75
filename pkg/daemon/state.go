package daemon

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/vmfleet/vmfleet/pkg/fleetfile"
	"github.com/vmfleet/vmfleet/pkg/limits"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// state keeps fleet records in the store as the resources AWS would have
// for them: per service a launch template version, a target group and an
// Auto Scaling group, and the fleet naming its groups. Every save is one
// transaction.
type state struct{ db *store.Store }

func resourceName(fleet, service string) string { return fleet + "-" + service }

// save stores rec and returns the fleet's generation after it.
func (s state) save(ctx context.Context, rec *record) (int64, error) {
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		var groups []string
		for _, svc := range rec.Spec.Services {
			name := resourceName(rec.Name, svc.Name)
			v, _, err := tx.CreateLaunchTemplateVersion(name, store.LaunchTemplateVersion{
				ImageDigest: rec.Images[svc.Name], Command: svc.Command, Env: svc.Env, Port: svc.Port,
				CPU: svc.CPU, MemoryBytes: svc.MemoryBytes,
			})
			if err != nil {
				return err
			}
			if err := tx.SetDefaultLaunchTemplateVersion(name, v); err != nil {
				return err
			}
			if err := tx.PutTargetGroup(&store.TargetGroup{
				Name: name, Listen: svc.Balancer.Listen, Bound: rec.Listen[svc.Name],
				HealthCheck: store.HealthCheck{Type: svc.Health.Type, Path: svc.Health.Path, Interval: svc.Health.Interval,
					Timeout: svc.Health.Timeout, HealthyThreshold: svc.Health.HealthyThreshold, UnhealthyThreshold: svc.Health.UnhealthyThreshold},
				DeregistrationDelay: svc.Balancer.DeregistrationDelay, Replay: replayOf(svc),
			}); err != nil {
				return err
			}
			g := &store.Group{
				Name: name, Fleet: rec.Name, Service: svc.Name, LaunchTemplate: name, LaunchTemplateVersion: v,
				TargetGroup: name, Desired: rec.Desired[svc.Name],
				FileDesired: rec.FileCounts[svc.Name], HealthCheckType: store.GroupHealthELB,
				HealthCheckGracePeriod: limits.DefaultHealthCheckGracePeriod,
				TerminationPolicies:    []string{store.TerminationDefault}, DependsOn: svc.DependsOn,
			}
			if svc.Scaling != nil && len(svc.Scaling.TerminationPolicies) > 0 {
				g.TerminationPolicies = svc.Scaling.TerminationPolicies
			}
			g.Min, g.Max = svc.Bounds()
			g.ProtectedFromScaleIn = rec.Protected[svc.Name]
			if sc := svc.Scaling; sc != nil {
				g.Scaling, g.InstanceWarmup, g.DisableScaleIn = true, sc.InstanceWarmup, sc.DisableScaleIn
				for _, p := range sc.TargetTracking {
					g.Policies = append(g.Policies, store.TargetTrackingPolicy{Metric: p.Metric, Target: p.Target})
				}
			}
			if err := tx.PutGroup(g); err != nil {
				return err
			}
			if dg := rec.Images[svc.Name]; dg != "" {
				if err := tx.PutImage(&store.Image{Name: name, Digest: dg}); err != nil {
					return err
				}
			}
			groups = append(groups, name)
		}
		// Services gone from the file lose their resources.
		if old, err := tx.GetFleet(rec.Name); err == nil {
			for _, g := range old.Groups {
				if !slices.Contains(groups, g) {
					if err := deleteService(tx, g); err != nil {
						return err
					}
				}
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return tx.PutFleet(&store.Fleet{Name: rec.Name, File: rec.File, Groups: groups, BootCPUs: rec.BootCPUs, TimeScale: rec.Spec.TimeScale})
	})
	if err != nil {
		return 0, fmt.Errorf("save fleet %s: %w", rec.Name, err)
	}
	var gen int64
	err = s.db.View(ctx, func(tx *store.Tx) error {
		f, err := tx.GetFleet(rec.Name)
		gen = f.Generation
		return err
	})
	return gen, err
}

func deleteService(tx *store.Tx, name string) error {
	for _, del := range []func(string) error{tx.DeleteGroup, tx.DeleteTargetGroup, tx.DeleteLaunchTemplate, tx.DeleteImage} {
		if err := del(name); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

func (s state) remove(ctx context.Context, name string) error {
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		f, err := tx.GetFleet(name)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, g := range f.Groups {
			if err := deleteService(tx, g); err != nil {
				return err
			}
		}
		return tx.DeleteFleet(name)
	})
	if err != nil {
		return fmt.Errorf("forget fleet %s: %w", name, err)
	}
	return nil
}

// load rebuilds every fleet's record from its resources: what the
// controller runs after a daemon restart, without reading the file again.
func (s state) load(ctx context.Context) ([]*record, error) {
	var out []*record
	err := s.db.View(ctx, func(tx *store.Tx) error {
		fleets, err := tx.ListFleets()
		if err != nil {
			return err
		}
		for _, f := range fleets {
			rec := &record{Name: f.Name, File: f.File, BootCPUs: f.BootCPUs, Generation: f.Generation,
				Spec:   &fleetfile.Fleet{Name: f.Name, File: f.File, Dir: filepath.Dir(f.File), TimeScale: f.TimeScale},
				Images: map[string]string{}, Listen: map[string]string{}, Desired: map[string]int{}, FileCounts: map[string]int{}}
			if rec.Spec.TimeScale == 0 {
				rec.Spec.TimeScale = 1 // a record from before time scales ran its periods as written
			}
			for _, name := range f.Groups {
				g, err := tx.GetGroup(name)
				if err != nil {
					return err
				}
				lt, err := tx.LaunchTemplateVersion(g.LaunchTemplate, g.LaunchTemplateVersion)
				if err != nil {
					return err
				}
				tg, err := tx.GetTargetGroup(g.TargetGroup)
				if err != nil {
					return err
				}
				hc := tg.HealthCheck
				svc := &fleetfile.Service{
					Name: g.Service, Command: lt.Command, Env: lt.Env, Port: lt.Port, Instances: g.FileDesired,
					CPU: lt.CPU, MemoryBytes: lt.MemoryBytes, DependsOn: g.DependsOn,
					Health: fleetfile.Health{Type: hc.Type, Path: hc.Path, Interval: hc.Interval, Timeout: hc.Timeout,
						HealthyThreshold: hc.HealthyThreshold, UnhealthyThreshold: hc.UnhealthyThreshold},
					Balancer: balancerOf(tg),
				}
				if len(g.ProtectedFromScaleIn) > 0 {
					if rec.Protected == nil {
						rec.Protected = map[string][]string{}
					}
					rec.Protected[g.Service] = g.ProtectedFromScaleIn
				}
				if g.Scaling {
					svc.Scaling = &fleetfile.Scaling{Min: g.Min, Max: g.Max, InstanceWarmup: g.InstanceWarmup, DisableScaleIn: g.DisableScaleIn}
					if tp := g.TerminationPolicies; !slices.Equal(tp, []string{store.TerminationDefault}) {
						svc.Scaling.TerminationPolicies = tp // as the file gave them; none means Default
					}
					for _, p := range g.Policies {
						svc.Scaling.TargetTracking = append(svc.Scaling.TargetTracking, fleetfile.TargetTracking{Metric: p.Metric, Target: p.Target})
					}
				}
				rec.Spec.Services = append(rec.Spec.Services, svc)
				rec.Images[g.Service] = lt.ImageDigest
				rec.Listen[g.Service] = tg.Bound
				rec.Desired[g.Service] = g.Desired
				rec.FileCounts[g.Service] = g.FileDesired
			}
			out = append(out, rec)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read fleets: %w", err)
	}
	return out, nil
}

// replayOf and balancerOf map the balancer's replay switch between the
// fleet file and the target group.
func replayOf(svc *fleetfile.Service) bool { return svc.Balancer.Replay }

func balancerOf(tg store.TargetGroup) fleetfile.Balancer {
	return fleetfile.Balancer{Listen: tg.Listen, DeregistrationDelay: tg.DeregistrationDelay, Replay: tg.Replay}
}
