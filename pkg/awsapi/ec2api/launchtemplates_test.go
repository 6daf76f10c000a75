package ec2api_test

import (
	"encoding/base64"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vmfleet/vmfleet/pkg/store"
)

func webTemplate(name, instanceType string) *ec2.CreateLaunchTemplateInput {
	return &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String(name),
		LaunchTemplateData: &types.RequestLaunchTemplateData{
			ImageId: aws.String(webAMI), InstanceType: types.InstanceType(instanceType),
			UserData:        aws.String(base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\necho hi\n"))),
			MetadataOptions: &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: types.LaunchTemplateHttpTokensStateRequired},
		},
	}
}

func TestALaunchTemplateFromAnAMILaunchesTheImagesServiceSizedByItsType(t *testing.T) {
	f := newFixture(t)
	out, err := f.ec2.CreateLaunchTemplate(ctx, webTemplate("web", "t3.micro"))
	if err != nil {
		t.Fatal(err)
	}
	lt := out.LaunchTemplate
	if id := aws.ToString(lt.LaunchTemplateId); len(id) != 20 || aws.ToInt64(lt.DefaultVersionNumber) != 1 || aws.ToInt64(lt.LatestVersionNumber) != 1 {
		t.Fatalf("template %+v", lt)
	}
	var v store.LaunchTemplateVersion
	if err := f.store.View(ctx, func(tx *store.Tx) (err error) { v, err = tx.LaunchTemplateVersion("web", 1); return err }); err != nil {
		t.Fatal(err)
	}
	if v.ImageDigest != webDigest || v.Command[0] != "/app/web" || v.Port != 8080 || v.Env["MODE"] != "prod" ||
		v.CPU != 0.2 || v.MemoryBytes != 1<<30 || v.UserData != "#!/bin/sh\necho hi\n" || v.MetadataOptions.HTTPTokens != "required" {
		t.Fatalf("stored version %+v", v)
	}
	vs, err := f.ec2.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: lt.LaunchTemplateId, Versions: []string{"$Latest"}})
	if err != nil || len(vs.LaunchTemplateVersions) != 1 {
		t.Fatalf("versions %+v, %v", vs, err)
	}
	d := vs.LaunchTemplateVersions[0].LaunchTemplateData
	if aws.ToString(d.ImageId) != webAMI || d.InstanceType != "t3.micro" || d.MetadataOptions.HttpTokens != "required" ||
		aws.ToString(d.UserData) != base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\necho hi\n")) {
		t.Fatalf("described data %+v", d)
	}
}

func TestANewVersionInheritsItsSourceAndBecomesTheDefaultWhenAsked(t *testing.T) {
	f := newFixture(t)
	if _, err := f.ec2.CreateLaunchTemplate(ctx, webTemplate("web", "t3.micro")); err != nil {
		t.Fatal(err)
	}
	v2, err := f.ec2.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateName: aws.String("web"), SourceVersion: aws.String("1"), VersionDescription: aws.String("api image"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(apiAMI)},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := v2.LaunchTemplateVersion
	if aws.ToInt64(got.VersionNumber) != 2 || aws.ToBool(got.DefaultVersion) || got.LaunchTemplateData.InstanceType != "t3.micro" ||
		aws.ToString(got.LaunchTemplateData.ImageId) != apiAMI || aws.ToString(got.VersionDescription) != "api image" {
		t.Fatalf("version 2 %+v data %+v", got, got.LaunchTemplateData)
	}
	if _, err := f.ec2.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateName: aws.String("web"), DefaultVersion: aws.String("2")}); err != nil {
		t.Fatal(err)
	}
	def, err := f.ec2.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String("web"), Versions: []string{"$Default"}})
	if err != nil || len(def.LaunchTemplateVersions) != 1 || aws.ToInt64(def.LaunchTemplateVersions[0].VersionNumber) != 2 {
		t.Fatalf("$Default: %+v, %v", def, err)
	}
	all, err := f.ec2.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String("web")})
	if err != nil || len(all.LaunchTemplateVersions) != 2 {
		t.Fatalf("all versions: %+v, %v", all, err)
	}
}

func TestLaunchTemplatesAreDescribedByNameIDAndTag(t *testing.T) {
	f := newFixture(t)
	tagged := webTemplate("web", "m5.large")
	tagged.TagSpecifications = []types.TagSpecification{{ResourceType: types.ResourceTypeLaunchTemplate, Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("shop")}}}}
	made, err := f.ec2.CreateLaunchTemplate(ctx, tagged)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ec2.CreateLaunchTemplate(ctx, webTemplate("api", "c5.large")); err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]*ec2.DescribeLaunchTemplatesInput{
		"by name": {LaunchTemplateNames: []string{"web"}},
		"by id":   {LaunchTemplateIds: []string{aws.ToString(made.LaunchTemplate.LaunchTemplateId)}},
		"by tag":  {Filters: []types.Filter{{Name: aws.String("tag:team"), Values: []string{"shop"}}}},
	} {
		out, err := f.ec2.DescribeLaunchTemplates(ctx, in)
		if err != nil || len(out.LaunchTemplates) != 1 || aws.ToString(out.LaunchTemplates[0].LaunchTemplateName) != "web" {
			t.Errorf("%s: %+v, %v", name, out, err)
		}
	}
	all, err := f.ec2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{})
	if err != nil || len(all.LaunchTemplates) != 2 {
		t.Fatalf("all: %+v, %v", all, err)
	}
	if _, err := f.ec2.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String("api")}); err != nil {
		t.Fatal(err)
	}
	_, err = f.ec2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"api"}})
	wantCode(t, err, "InvalidLaunchTemplateName.NotFoundException")
}

func TestBadLaunchTemplatesAreRefusedWithEC2sCodesAndLeaveNothing(t *testing.T) {
	f := newFixture(t)
	if _, err := f.ec2.CreateLaunchTemplate(ctx, webTemplate("web", "t3.micro")); err != nil {
		t.Fatal(err)
	}
	noImage := webTemplate("ghost", "t3.micro")
	noImage.LaunchTemplateData.ImageId = aws.String("ami-00000000000000000")
	badUserData := webTemplate("garbled", "t3.micro")
	badUserData.LaunchTemplateData.UserData = aws.String("not base64!")
	for _, tc := range []struct {
		name string
		in   *ec2.CreateLaunchTemplateInput
		code string
	}{
		{"a name in use", webTemplate("web", "t3.micro"), "InvalidLaunchTemplateName.AlreadyExistsException"},
		{"a name too short", webTemplate("w", "t3.micro"), "InvalidLaunchTemplateName.MalformedException"},
		{"an unknown instance type", webTemplate("huge", "t9.huge"), "InvalidParameterValue"},
		{"an arm64 instance type", webTemplate("graviton", "t4g.micro"), "InvalidParameterValue"},
		{"an image that does not exist", noImage, "InvalidAMIID.NotFound"},
		{"user data that is not base64", badUserData, "InvalidUserData.Malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.ec2.CreateLaunchTemplate(ctx, tc.in)
			wantCode(t, err, tc.code)
		})
	}
	all, err := f.ec2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{})
	if err != nil || len(all.LaunchTemplates) != 1 {
		t.Fatalf("templates left: %+v, %v", all, err)
	}
	_, err = f.ec2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{"lt-0123456789abcdef0"}})
	wantCode(t, err, "InvalidLaunchTemplateId.NotFound")
	_, err = f.ec2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{"web"}})
	wantCode(t, err, "InvalidLaunchTemplateId.Malformed")
	_, err = f.ec2.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateName: aws.String("web"), DefaultVersion: aws.String("7")})
	wantCode(t, err, "InvalidLaunchTemplateId.VersionNotFound")
}

func TestALaunchTemplateAGroupUsesIsNotDeleted(t *testing.T) {
	f := newFixture(t)
	if _, err := f.ec2.CreateLaunchTemplate(ctx, webTemplate("web", "t3.micro")); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Update(ctx, func(tx *store.Tx) error {
		return tx.PutGroup(&store.Group{Name: "web-asg", LaunchTemplate: "web", LaunchTemplateVersion: 1, Max: 1})
	}); err != nil {
		t.Fatal(err)
	}
	_, err := f.ec2.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String("web")})
	wantCode(t, err, "InvalidParameterValue")
}

func TestALaunchTemplatesTagsAreCreatedDescribedAndDeleted(t *testing.T) {
	f := newFixture(t)
	made, err := f.ec2.CreateLaunchTemplate(ctx, webTemplate("web", "t3.micro"))
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(made.LaunchTemplate.LaunchTemplateId)
	if _, err := f.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("shop")}, {Key: aws.String("env"), Value: aws.String("dev")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ec2.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}, Tags: []types.Tag{{Key: aws.String("env")}}}); err != nil {
		t.Fatal(err)
	}
	out, err := f.ec2.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []types.Filter{{Name: aws.String("resource-id"), Values: []string{id}}}})
	if err != nil || len(out.Tags) != 1 || aws.ToString(out.Tags[0].Key) != "team" || out.Tags[0].ResourceType != types.ResourceTypeLaunchTemplate {
		t.Fatalf("tags %+v, %v", out, err)
	}
	_, err = f.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []types.Tag{{Key: aws.String("aws:reserved"), Value: aws.String("x")}}})
	wantCode(t, err, "InvalidParameterValue")
	_, err = f.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"i-0123456789ab"}, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("x")}}})
	wantCode(t, err, "InvalidInstanceID.NotFound")
	_, err = f.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"lt-0123456789abcdef0"}, Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
	wantCode(t, err, "InvalidLaunchTemplateId.NotFound")
}
