package ec2api

import (
	"context"
	"errors"
	"strconv"

	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire/ec2"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// maxDeletedVersions is how many versions one DeleteLaunchTemplateVersions
// takes, as EC2 bounds it.
const maxDeletedVersions = 200

// deleteLaunchTemplateVersions deletes each version it can and reports
// each it cannot, as EC2 does: the default version, one that does not
// exist, one a group launches from.
func (e *EC2) deleteLaunchTemplateVersions(ctx context.Context, in *ec2.DeleteLaunchTemplateVersionsInput) (*ec2.DeleteLaunchTemplateVersionsOutput, error) {
	if len(in.Versions) == 0 || len(in.Versions) > maxDeletedVersions {
		return nil, awsapi.Errorf("InvalidParameterValue", "Versions must name 1 to %d versions", maxDeletedVersions)
	}
	out := &ec2.DeleteLaunchTemplateVersionsOutput{SuccessfullyDeletedLaunchTemplateVersions: []ec2.DeleteLaunchTemplateVersionsResponseSuccessItem{},
		UnsuccessfullyDeletedLaunchTemplateVersions: []ec2.DeleteLaunchTemplateVersionsResponseErrorItem{}}
	err := e.update(ctx, func(tx *store.Tx) error {
		lt, err := e.template(tx, in.LaunchTemplateId, in.LaunchTemplateName)
		if err != nil {
			return err
		}
		for _, s := range in.Versions {
			v, perr := strconv.Atoi(s)
			fail := func(code, msg string) {
				item := ec2.DeleteLaunchTemplateVersionsResponseErrorItem{LaunchTemplateId: &lt.ID, LaunchTemplateName: &lt.Name,
					ResponseError: &ec2.ResponseError{Code: &code, Message: &msg}}
				if perr == nil {
					item.VersionNumber = new(int64(v))
				}
				out.UnsuccessfullyDeletedLaunchTemplateVersions = append(out.UnsuccessfullyDeletedLaunchTemplateVersions, item)
			}
			if perr != nil || v < 1 {
				fail("launchTemplateVersionDoesNotExist", "The specified launch template version does not exist: "+s)
				continue
			}
			if g, err := usedBy(tx, lt.Name, v); err != nil {
				return err
			} else if g != "" {
				fail("unexpectedError", "The launch template version is used by the Auto Scaling group "+g)
				continue
			}
			switch err := tx.DeleteLaunchTemplateVersion(lt.Name, v); {
			case errors.Is(err, store.ErrNotFound):
				fail("launchTemplateVersionDoesNotExist", "The specified launch template version does not exist: "+s)
			case errors.Is(err, store.ErrDefaultVersion):
				fail("unexpectedError", "Cannot delete the default version of a launch template; make another version the default first")
			case err != nil:
				return err
			default:
				out.SuccessfullyDeletedLaunchTemplateVersions = append(out.SuccessfullyDeletedLaunchTemplateVersions,
					ec2.DeleteLaunchTemplateVersionsResponseSuccessItem{LaunchTemplateId: &lt.ID, LaunchTemplateName: &lt.Name, VersionNumber: new(int64(v))})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// usedBy is a group that launches from version v of template (any
// version for 0), or "".
func usedBy(tx *store.Tx, template string, v int) (string, error) {
	groups, err := tx.ListGroups()
	for _, g := range groups {
		if g.LaunchTemplate == template && (v == 0 || g.LaunchTemplateVersion == v) {
			return g.Name, nil
		}
	}
	return "", err
}
