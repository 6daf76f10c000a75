package ec2api

import (
	"context"
	"errors"
	"strconv"

	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire"
	"github.com/vmfleet/vmfleet/pkg/awswire/ec2"
	"github.com/vmfleet/vmfleet/pkg/store"
)

func (e *EC2) createLaunchTemplate(ctx context.Context, in *ec2.CreateLaunchTemplateInput) (*ec2.CreateLaunchTemplateOutput, error) {
	if err := checkTemplateName(in.LaunchTemplateName); err != nil {
		return nil, err
	}
	tags, err := templateTags(in.TagSpecifications)
	if err != nil {
		return nil, err
	}
	data := defaultLaunch()
	if err := e.applyData(&data, in.LaunchTemplateData); err != nil {
		return nil, err
	}
	data.Description = awswire.Value(in.VersionDescription)
	var out *ec2.LaunchTemplate
	err = e.update(ctx, func(tx *store.Tx) error {
		lt := store.LaunchTemplate{Name: in.LaunchTemplateName, ID: store.NewLaunchTemplateID(), Tags: tags}
		if err := tx.NewLaunchTemplate(lt, data); errors.Is(err, store.ErrExists) {
			return awsapi.Errorf("InvalidLaunchTemplateName.AlreadyExistsException", "Launch template name already in use.")
		} else if err != nil {
			return err
		}
		out, err = e.describeTemplate(tx, lt.Name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &ec2.CreateLaunchTemplateOutput{LaunchTemplate: out}, nil
}

func (e *EC2) createLaunchTemplateVersion(ctx context.Context, in *ec2.CreateLaunchTemplateVersionInput) (*ec2.CreateLaunchTemplateVersionOutput, error) {
	var out *ec2.LaunchTemplateVersion
	err := e.update(ctx, func(tx *store.Tx) error {
		lt, err := e.template(tx, in.LaunchTemplateId, in.LaunchTemplateName)
		if err != nil {
			return err
		}
		data := defaultLaunch()
		if in.SourceVersion != nil {
			n, err := version(lt, *in.SourceVersion)
			if err != nil {
				return err
			}
			if data, err = tx.LaunchTemplateVersion(lt.Name, n); err != nil {
				return err
			}
		}
		if err := e.applyData(&data, in.LaunchTemplateData); err != nil {
			return err
		}
		data.Description = awswire.Value(in.VersionDescription)
		n, err := tx.AddLaunchTemplateVersion(lt.Name, data)
		if err != nil {
			return err
		}
		if lt, err = tx.GetLaunchTemplate(lt.Name); err != nil {
			return err
		}
		v, err := tx.LaunchTemplateVersion(lt.Name, n)
		out = describeVersion(lt, v, e.Account)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := e.follow(ctx, awswire.Value(out.LaunchTemplateName)); err != nil {
		return nil, err
	}
	return &ec2.CreateLaunchTemplateVersionOutput{LaunchTemplateVersion: out}, nil
}

func (e *EC2) describeLaunchTemplates(ctx context.Context, in *ec2.DescribeLaunchTemplatesInput) (*ec2.DescribeLaunchTemplatesOutput, error) {
	of := func(lt *ec2.LaunchTemplate) fields {
		return func(name string) ([]string, bool) {
			switch name {
			case "launch-template-name":
				if lt == nil {
					return nil, true
				}
				return []string{*lt.LaunchTemplateName}, true
			}
			return nil, false
		}
	}
	if err := check(in.Filters, of(nil)); err != nil {
		return nil, err
	}
	out := &ec2.DescribeLaunchTemplatesOutput{LaunchTemplates: []ec2.LaunchTemplate{}}
	err := e.view(ctx, func(tx *store.Tx) error {
		var names []string
		for _, id := range in.LaunchTemplateIds {
			lt, err := e.template(tx, &id, nil)
			if err != nil {
				return err
			}
			names = append(names, lt.Name)
		}
		for _, name := range in.LaunchTemplateNames {
			lt, err := e.template(tx, nil, &name)
			if err != nil {
				return err
			}
			names = append(names, lt.Name)
		}
		if len(in.LaunchTemplateIds)+len(in.LaunchTemplateNames) == 0 {
			all, err := tx.ListLaunchTemplates()
			if err != nil {
				return err
			}
			for _, lt := range all {
				names = append(names, lt.Name)
			}
		}
		for _, name := range names {
			d, err := e.describeTemplate(tx, name)
			if err != nil {
				return err
			}
			if match(in.Filters, of(d), tagMap(d.Tags)) {
				out.LaunchTemplates = append(out.LaunchTemplates, *d)
			}
		}
		return nil
	})
	return out, err
}

func (e *EC2) describeLaunchTemplateVersions(ctx context.Context, in *ec2.DescribeLaunchTemplateVersionsInput) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
	if len(in.Filters) > 0 {
		return nil, awsapi.Errorf("InvalidParameterValue", "vmfleet does not filter launch template versions; ask for Versions instead")
	}
	out := &ec2.DescribeLaunchTemplateVersionsOutput{LaunchTemplateVersions: []ec2.LaunchTemplateVersion{}}
	err := e.view(ctx, func(tx *store.Tx) error {
		lt, err := e.template(tx, in.LaunchTemplateId, in.LaunchTemplateName)
		if err != nil {
			return err
		}
		all, err := tx.ListLaunchTemplateVersions(lt.Name)
		if err != nil {
			return err
		}
		want := map[int]bool{}
		for _, s := range in.Versions {
			n, err := version(lt, s)
			if err != nil {
				return err
			}
			want[n] = true
		}
		lo, hi := bound(in.MinVersion, 1), bound(in.MaxVersion, lt.LatestVersion)
		for _, v := range all {
			if (len(want) > 0 && !want[v.Version]) || v.Version < lo || v.Version > hi {
				continue
			}
			out.LaunchTemplateVersions = append(out.LaunchTemplateVersions, *describeVersion(lt, v, e.Account))
		}
		return nil
	})
	return out, err
}

// bound reads a MinVersion or MaxVersion, def when absent or unreadable.
func bound(s *string, def int) int {
	if s == nil {
		return def
	}
	n, err := strconv.Atoi(*s)
	if err != nil {
		return def
	}
	return n
}

func (e *EC2) modifyLaunchTemplate(ctx context.Context, in *ec2.ModifyLaunchTemplateInput) (*ec2.ModifyLaunchTemplateOutput, error) {
	var out *ec2.LaunchTemplate
	err := e.update(ctx, func(tx *store.Tx) error {
		lt, err := e.template(tx, in.LaunchTemplateId, in.LaunchTemplateName)
		if err != nil {
			return err
		}
		if in.DefaultVersion != nil {
			n, err := version(lt, *in.DefaultVersion)
			if err != nil {
				return err
			}
			if err := tx.SetDefaultLaunchTemplateVersion(lt.Name, n); err != nil {
				return err
			}
		}
		out, err = e.describeTemplate(tx, lt.Name)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := e.follow(ctx, awswire.Value(out.LaunchTemplateName)); err != nil {
		return nil, err
	}
	return &ec2.ModifyLaunchTemplateOutput{LaunchTemplate: out}, nil
}

func (e *EC2) deleteLaunchTemplate(ctx context.Context, in *ec2.DeleteLaunchTemplateInput) (*ec2.DeleteLaunchTemplateOutput, error) {
	var out *ec2.LaunchTemplate
	err := e.update(ctx, func(tx *store.Tx) error {
		lt, err := e.template(tx, in.LaunchTemplateId, in.LaunchTemplateName)
		if err != nil {
			return err
		}
		if g, err := usedBy(tx, lt.Name, 0); err != nil || g != "" {
			if err == nil {
				err = awsapi.Errorf("InvalidParameterValue", "The launch template %s is used by the Auto Scaling group %s; delete the group first.", lt.Name, g)
			}
			return err
		}
		if out, err = e.describeTemplate(tx, lt.Name); err != nil {
			return err
		}
		return tx.DeleteLaunchTemplate(lt.Name)
	})
	if err != nil {
		return nil, err
	}
	return &ec2.DeleteLaunchTemplateOutput{LaunchTemplate: out}, nil
}

// template is the launch template a request names by ID or by name.
func (e *EC2) template(tx *store.Tx, id, name *string) (store.LaunchTemplate, error) {
	switch {
	case id != nil && name != nil:
		return store.LaunchTemplate{}, awsapi.Errorf("InvalidParameterCombination", "Only one of LaunchTemplateId and LaunchTemplateName may be given.")
	case name != nil:
		lt, err := tx.GetLaunchTemplate(*name)
		if errors.Is(err, store.ErrNotFound) {
			return lt, awsapi.Errorf("InvalidLaunchTemplateName.NotFoundException", "The specified launch template, with template name %s, does not exist.", *name)
		}
		return lt, err
	case id != nil:
		all, err := tx.ListLaunchTemplates()
		if err != nil {
			return store.LaunchTemplate{}, err
		}
		for _, lt := range all {
			if lt.ID == *id {
				return lt, nil
			}
		}
		if len(*id) != len("lt-")+17 || (*id)[:3] != "lt-" {
			return store.LaunchTemplate{}, awsapi.Errorf("InvalidLaunchTemplateId.Malformed", "The specified ID for the launch template (%s) is not valid.", *id)
		}
		return store.LaunchTemplate{}, awsapi.Errorf("InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID %s, does not exist.", *id)
	}
	return store.LaunchTemplate{}, awsapi.Errorf("MissingParameter", "The request must contain the parameter LaunchTemplateName or LaunchTemplateId")
}

// describeTemplate is the launch template called name as EC2 describes it.
func (e *EC2) describeTemplate(tx *store.Tx, name string) (*ec2.LaunchTemplate, error) {
	lt, err := tx.GetLaunchTemplate(name)
	if err != nil {
		return nil, err
	}
	first, err := tx.LaunchTemplateVersion(name, 1)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return &ec2.LaunchTemplate{
		LaunchTemplateId: new(lt.ID), LaunchTemplateName: new(lt.Name), CreateTime: new(first.Created),
		CreatedBy: new(rootARN(e.Account)), DefaultVersionNumber: new(int64(lt.DefaultVersion)),
		LatestVersionNumber: new(int64(lt.LatestVersion)), Tags: tagList(lt.Tags),
	}, nil
}

func describeVersion(lt store.LaunchTemplate, v store.LaunchTemplateVersion, account string) *ec2.LaunchTemplateVersion {
	d := &ec2.LaunchTemplateVersion{
		LaunchTemplateId: new(lt.ID), LaunchTemplateName: new(lt.Name), VersionNumber: new(int64(v.Version)),
		CreateTime: new(v.Created), CreatedBy: new(rootARN(account)), DefaultVersion: new(v.Version == lt.DefaultVersion),
		LaunchTemplateData: responseData(v),
	}
	if v.Description != "" {
		d.VersionDescription = new(v.Description)
	}
	return d
}

func rootARN(account string) string { return "arn:aws:iam::" + account + ":root" }

func tagMap(tags []ec2.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[awswire.Value(t.Key)] = awswire.Value(t.Value)
	}
	return m
}
