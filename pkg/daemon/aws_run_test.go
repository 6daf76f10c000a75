package daemon

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// tagged is the instances EC2 describes with tag key=value.
func (c awsClients) tagged(t *testing.T, key, value string) []ec2types.Instance {
	t.Helper()
	out, err := c.ec2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("tag:" + key), Values: []string{value}}}})
	if err != nil {
		t.Fatal(err)
	}
	var all []ec2types.Instance
	for _, r := range out.Reservations {
		all = append(all, r.Instances...)
	}
	return all
}

func TestRunInstancesLaunchesStandaloneInstancesWithTheirTypeAndTags(t *testing.T) {
	td := newTestDaemon(t)
	c := td.aws()
	ctx := context.Background()
	baked, err := td.d.Bake(ctx, api.BakeRequest{Name: "web", Binary: "/bin/busybox", Port: 8080, Command: []string{"/app/busybox"}})
	if err != nil {
		t.Fatal(err)
	}
	ami := baked.Image.ImageID
	run, err := c.ec2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ami), InstanceType: ec2types.InstanceTypeT3Micro,
		MinCount: aws.Int32(2), MaxCount: aws.Int32(2), TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance,
			Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String("api")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Instances) != 2 || run.Instances[0].State.Name != ec2types.InstanceStateNamePending || run.Instances[1].InstanceType != ec2types.InstanceTypeT3Micro {
		t.Fatalf("RunInstances answered %+v; want 2 pending t3.micro", run.Instances)
	}
	named := c.tagged(t, "Name", "api")
	if len(named) != 2 || named[0].InstanceType != ec2types.InstanceTypeT3Micro || aws.ToString(named[0].ImageId) != ami {
		t.Fatalf("described with tag Name=api: %+v; want the 2 t3.micro of %s", named, ami)
	}
	if rows, _ := td.d.Instances(ctx); len(rows) != 2 || rows[0].Fleet != "" {
		t.Fatalf("vmfleet ps: %+v; want the 2 standalone instances", rows)
	}

	// An instance's own tags, set and removed.
	id := aws.ToString(named[0].InstanceId)
	if _, err := c.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []ec2types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}}}); err != nil {
		t.Fatal(err)
	}
	if got := c.tagged(t, "env", "dev"); len(got) != 1 || aws.ToString(got[0].InstanceId) != id {
		t.Fatalf("tagged env=dev: %+v; want %s only", got, id)
	}
	if _, err := c.ec2.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}, Tags: []ec2types.Tag{{Key: aws.String("env")}}}); err != nil {
		t.Fatal(err)
	}
	if got := c.tagged(t, "env", "dev"); len(got) != 0 {
		t.Fatalf("still tagged env=dev after DeleteTags: %+v", got)
	}
	_, err = c.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"i-0000000000000000"}, Tags: []ec2types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
	wantAWSCode(t, err, "InvalidInstanceID.NotFound")

	// From a launch template: its type.
	if _, err := c.ec2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("web"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(ami), InstanceType: ec2types.InstanceTypeC5Large}}); err != nil {
		t.Fatal(err)
	}
	fromLT, err := c.ec2.RunInstances(ctx, &ec2.RunInstancesInput{LaunchTemplate: &ec2types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web"),
		Version: aws.String("$Latest")}, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil || len(fromLT.Instances) != 1 || fromLT.Instances[0].InstanceType != ec2types.InstanceTypeC5Large {
		t.Fatalf("from the launch template: %+v, %v; want one c5.large", fromLT, err)
	}

	for name, in := range map[string]*ec2.RunInstancesInput{
		"no count":               {ImageId: aws.String(ami), InstanceType: ec2types.InstanceTypeT3Micro, MinCount: aws.Int32(0), MaxCount: aws.Int32(1)},
		"max below min":          {ImageId: aws.String(ami), InstanceType: ec2types.InstanceTypeT3Micro, MinCount: aws.Int32(2), MaxCount: aws.Int32(1)},
		"an image that is not":   {ImageId: aws.String("ami-00000000000000000"), InstanceType: ec2types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)},
		"no instance type":       {ImageId: aws.String(ami), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)},
		"an arm64 instance type": {ImageId: aws.String(ami), InstanceType: ec2types.InstanceTypeT4gMicro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)},
		"a template that is not": {LaunchTemplate: &ec2types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("nope")}, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.ec2.RunInstances(ctx, in)
			want := map[string]string{"an image that is not": "InvalidAMIID.NotFound", "no instance type": "MissingParameter",
				"a template that is not": "InvalidLaunchTemplateName.NotFoundException"}[name]
			if want == "" {
				want = "InvalidParameterValue"
			}
			wantAWSCode(t, err, want)
			if rows, _ := td.d.Instances(ctx); len(rows) != 3 {
				t.Fatalf("%d instances after a refused run, want the 3 before", len(rows))
			}
		})
	}

	if _, err := c.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	if got := c.tagged(t, "Name", "api"); len(got) != 1 {
		t.Fatalf("after terminating %s: %+v; want one left", id, got)
	}
}
