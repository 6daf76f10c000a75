package ec2api

import (
	"context"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire"
	"github.com/vmfleet/vmfleet/pkg/awswire/ec2"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// maxRun is how many instances one RunInstances launches at most: a
// bound for this machine, as an account's vCPU limit is on AWS.
const maxRun = 20

// runInstances launches standalone instances, as `vmfleet run` does:
// from a launch template version, from an image and an instance type,
// or from both (the request's own image and type win), tagged as
// TagSpecifications say. It answers once their domains run: pending,
// until their services answer.
func (e *EC2) runInstances(ctx context.Context, in *ec2.RunInstancesInput) (*ec2.RunInstancesOutput, error) {
	switch {
	case in.MinCount < 1:
		return nil, awsapi.Errorf("InvalidParameterValue", "Value (%d) for parameter minCount is invalid. Expected a positive integer.", in.MinCount)
	case in.MaxCount < in.MinCount:
		return nil, awsapi.Errorf("InvalidParameterValue", "Value (%d) for parameter maxCount is invalid. Expected at least minCount (%d).", in.MaxCount, in.MinCount)
	case in.MinCount > maxRun:
		return nil, awsapi.Errorf("InstanceLimitExceeded", "You have requested more instances (%d) than one RunInstances launches here (%d).", in.MinCount, maxRun)
	}
	v, err := e.runVersion(ctx, in)
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for _, s := range in.TagSpecifications {
		if s.ResourceType != nil && *s.ResourceType != "instance" {
			continue // volumes and network interfaces are the instance's
		}
		for _, t := range s.Tags {
			if err := checkTagKey(awswire.Value(t.Key)); err != nil {
				return nil, err
			}
			tags[awswire.Value(t.Key)] = awswire.Value(t.Value)
		}
	}
	var rows []api.InstanceRow
	for range min(int(in.MaxCount), maxRun) {
		r, err := e.Runtime.RunFromTemplate(ctx, v, tags)
		if err != nil {
			if len(rows) >= int(in.MinCount) {
				break // as many as could be, at least MinCount
			}
			e.undo(ctx, rows)
			return nil, err
		}
		rows = append(rows, r)
	}
	out := &ec2.RunInstancesOutput{ReservationId: new(reservationID(rows[0].ID)), OwnerId: new(e.Account), Groups: []ec2.GroupIdentifier{}}
	view := view{rows: rows}
	for i, r := range rows {
		inst := e.instance(r, view)
		inst.AmiLaunchIndex = new(int32(i))
		inst.State = new(statePending)
		out.Instances = append(out.Instances, inst)
	}
	return out, nil
}

// runVersion is what a RunInstances launches: its launch template's
// version, changed by its own image, type and user data.
func (e *EC2) runVersion(ctx context.Context, in *ec2.RunInstancesInput) (store.LaunchTemplateVersion, error) {
	v := defaultLaunch()
	if spec := in.LaunchTemplate; spec != nil {
		err := e.view(ctx, func(tx *store.Tx) error {
			lt, err := e.template(tx, spec.LaunchTemplateId, spec.LaunchTemplateName)
			if err != nil {
				return err
			}
			n, err := version(lt, valueOr(spec.Version, "$Default"))
			if err != nil {
				return err
			}
			v, err = tx.LaunchTemplateVersion(lt.Name, n)
			return err
		})
		if err != nil {
			return v, err
		}
	}
	data := &ec2.RequestLaunchTemplateData{ImageId: in.ImageId, InstanceType: in.InstanceType, UserData: in.UserData}
	if mo := in.MetadataOptions; mo != nil {
		data.MetadataOptions = &ec2.LaunchTemplateInstanceMetadataOptionsRequest{HttpEndpoint: mo.HttpEndpoint, HttpTokens: mo.HttpTokens}
	}
	if err := e.applyData(&v, data); err != nil {
		return v, err
	}
	if v.ImageDigest == "" {
		return v, awsapi.Errorf("MissingParameter", "The request must contain the parameter ImageId (or a launch template that gives one).")
	}
	if v.InstanceType == "" {
		// EC2 would launch an m1.small, a type vmfleet does not size.
		return v, awsapi.Errorf("MissingParameter", "The request must contain the parameter InstanceType (or a launch template that gives one): a t3, m5 or c5 type.")
	}
	return v, nil
}

// undo terminates what a RunInstances that failed had launched.
func (e *EC2) undo(ctx context.Context, rows []api.InstanceRow) {
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	if len(ids) > 0 {
		_, _ = e.Runtime.Remove(context.WithoutCancel(ctx), ids, 0)
	}
}

func valueOr(s *string, def string) string {
	if s == nil || *s == "" {
		return def
	}
	return *s
}
