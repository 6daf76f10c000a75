// Package ec2api answers EC2: baked images as AMIs, launch templates,
// the instance types vmfleet sizes instances by, and the one default
// network that scripts describe before they launch anything.
package ec2api

import (
	"context"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire/ec2"
	"github.com/vmfleet/vmfleet/pkg/image"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// Images is the image store, as EC2 reads it.
type Images interface {
	List() ([]*image.Manifest, error)
	// Get finds an image by name or digest prefix.
	Get(ref string) (*image.Manifest, error)
}

// Runtime is what EC2 asks of the running instances.
type Runtime interface {
	Instances(ctx context.Context) ([]api.InstanceRow, error)
	// Remove terminates instances, within grace.
	Remove(ctx context.Context, refs []string, grace time.Duration) ([]string, error)
	// RunFromTemplate launches a standalone instance of a launch template
	// version (which need not be stored), with its own tags.
	RunFromTemplate(ctx context.Context, v store.LaunchTemplateVersion, tags map[string]string) (api.InstanceRow, error)
	// TagInstance sets and removes an instance's own tags.
	TagInstance(ctx context.Context, id string, set map[string]string, remove map[string]*string) error
	// UpdateGroup hands a changed group to its controller: a group that
	// launches from $Latest or $Default follows its template.
	UpdateGroup(ctx context.Context, g store.Group) error
}

// EC2 is the EC2 service of one home.
type EC2 struct {
	Images  Images
	Store   *store.Store
	Runtime Runtime
	Account string
	Region  string
}

// Service is the endpoint's EC2.
func (e *EC2) Service() *awsapi.Service {
	return &awsapi.Service{
		SigningName: ec2.SigningName, Version: ec2.APIVersion, Protocol: awsapi.EC2,
		Operations: ec2.Operations(), EncodeError: ec2.EncodeError,
		Handlers: map[string]awsapi.Handler{
			"DescribeImages":                 awsapi.Op(e.describeImages),
			"CreateTags":                     awsapi.Op(e.createTags),
			"DeleteTags":                     awsapi.Op(e.deleteTags),
			"DescribeTags":                   awsapi.Op(e.describeTags),
			"DescribeInstances":              awsapi.Op(e.describeInstances),
			"DescribeInstanceStatus":         awsapi.Op(e.describeInstanceStatus),
			"TerminateInstances":             awsapi.Op(e.terminateInstances),
			"RunInstances":                   awsapi.Op(e.runInstances),
			"CreateLaunchTemplate":           awsapi.Op(e.createLaunchTemplate),
			"CreateLaunchTemplateVersion":    awsapi.Op(e.createLaunchTemplateVersion),
			"DescribeLaunchTemplates":        awsapi.Op(e.describeLaunchTemplates),
			"DescribeLaunchTemplateVersions": awsapi.Op(e.describeLaunchTemplateVersions),
			"ModifyLaunchTemplate":           awsapi.Op(e.modifyLaunchTemplate),
			"DeleteLaunchTemplate":           awsapi.Op(e.deleteLaunchTemplate),
			"DeleteLaunchTemplateVersions":   awsapi.Op(e.deleteLaunchTemplateVersions),
			"DescribeInstanceTypes":          awsapi.Op(e.describeInstanceTypes),
			"DescribeVpcs":                   awsapi.Op(e.describeVpcs),
			"DescribeSubnets":                awsapi.Op(e.describeSubnets),
			"DescribeSecurityGroups":         awsapi.Op(e.describeSecurityGroups),
		},
	}
}

// view and update run fn on the store, as the request's context allows.
func (e *EC2) view(ctx context.Context, fn func(*store.Tx) error) error { return e.Store.View(ctx, fn) }
func (e *EC2) update(ctx context.Context, fn func(*store.Tx) error) error {
	return e.Store.Update(ctx, fn)
}
