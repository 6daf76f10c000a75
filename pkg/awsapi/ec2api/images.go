package ec2api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire"
	"github.com/vmfleet/vmfleet/pkg/awswire/ec2"
	"github.com/vmfleet/vmfleet/pkg/image"
	"github.com/vmfleet/vmfleet/pkg/instancetype"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// describeImages lists the baked images as the account's own AMIs.
func (e *EC2) describeImages(ctx context.Context, in *ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error) {
	var ms []*image.Manifest
	if len(in.ImageIds) > 0 {
		for _, id := range in.ImageIds {
			m, err := e.image(id)
			if err != nil {
				return nil, err
			}
			ms = append(ms, m)
		}
	} else {
		all, err := e.Images.List()
		if err != nil {
			return nil, fmt.Errorf("list images: %w", err)
		}
		ms = all
	}
	if err := check(in.Filters, imageFields(nil, "")); err != nil {
		return nil, err
	}
	owned := len(in.Owners) == 0 || slices.ContainsFunc(in.Owners, func(o string) bool { return o == "self" || o == e.Account })
	out := &ec2.DescribeImagesOutput{Images: []ec2.Image{}}
	seen := map[string]bool{}
	for _, m := range ms {
		id, err := store.ImageID(m.Digest)
		if err != nil || seen[id] || !owned || !match(in.Filters, imageFields(m, e.Account), nil) {
			continue
		}
		seen[id] = true
		out.Images = append(out.Images, e.ami(m, id))
	}
	return out, nil
}

// image is the baked image an AMI ID names, or EC2's error for it.
func (e *EC2) image(id string) (*image.Manifest, error) {
	hex, ok := strings.CutPrefix(id, "ami-")
	if !ok || len(hex) != 17 || strings.Trim(hex, "0123456789abcdef") != "" {
		return nil, awsapi.Errorf("InvalidAMIID.Malformed", "Invalid id: \"%s\" (expecting \"ami-...\")", id)
	}
	m, err := e.Images.Get(hex)
	if errors.Is(err, image.ErrNotFound) {
		return nil, awsapi.Errorf("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", id)
	}
	if err != nil {
		return nil, fmt.Errorf("find image %s: %w", id, err)
	}
	return m, nil
}

func imageFields(m *image.Manifest, account string) fields {
	return func(name string) ([]string, bool) {
		if m == nil {
			_, ok := map[string]bool{"image-id": true, "name": true, "state": true, "architecture": true, "owner-id": true, "image-type": true, "is-public": true}[name]
			return nil, ok
		}
		id, _ := store.ImageID(m.Digest)
		v, ok := map[string]string{"image-id": id, "name": m.Name, "state": "available", "architecture": instancetype.Architecture,
			"owner-id": account, "image-type": "machine", "is-public": "false"}[name]
		return []string{v}, ok
	}
}

// ami is a baked image as EC2 describes an AMI.
func (e *EC2) ami(m *image.Manifest, id string) ec2.Image {
	desc := fmt.Sprintf("vmfleet %s image: %s", m.Source, strings.Join(m.Command, " "))
	if m.Port != 0 {
		desc += ", port " + strconv.Itoa(m.Port)
	}
	return ec2.Image{
		ImageId: &id, Name: new(m.Name), Description: &desc, State: new("available"), OwnerId: new(e.Account),
		CreationDate: new(awswire.FormatTime(m.Created)), Public: new(false), Architecture: new(instancetype.Architecture),
		ImageType: new("machine"), RootDeviceType: new("ebs"), RootDeviceName: new("/dev/vda"), VirtualizationType: new("hvm"),
		PlatformDetails: new("Linux/UNIX"), UsageOperation: new("RunInstances"), EnaSupport: new(false), BootMode: new("legacy-bios"),
		ImageLocation: new(e.Account + "/" + m.Name),
	}
}
