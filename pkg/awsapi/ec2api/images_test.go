package ec2api_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func TestBakedImagesAreTheAccountsAMIs(t *testing.T) {
	f := newFixture(t)
	out, err := f.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Images) != 2 {
		t.Fatalf("%d images", len(out.Images))
	}
	web := out.Images[0]
	if aws.ToString(web.ImageId) != webAMI || aws.ToString(web.Name) != "web" || web.State != types.ImageStateAvailable ||
		web.Architecture != types.ArchitectureValuesX8664 || aws.ToString(web.OwnerId) != "000000000000" || aws.ToString(web.CreationDate) != "2026-12-01T00:00:00.000Z" {
		t.Fatalf("web as an AMI: %+v", web)
	}
	named, err := f.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: []types.Filter{{Name: aws.String("name"), Values: []string{"a*"}}}})
	if err != nil || len(named.Images) != 1 || aws.ToString(named.Images[0].ImageId) != apiAMI {
		t.Fatalf("name=a*: %+v, %v", named.Images, err)
	}
	byID, err := f.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{apiAMI}})
	if err != nil || len(byID.Images) != 1 || aws.ToString(byID.Images[0].Name) != "api" {
		t.Fatalf("by id: %+v, %v", byID.Images, err)
	}
	amazons, err := f.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
	if err != nil || len(amazons.Images) != 0 {
		t.Fatalf("Amazon's images: %+v, %v", amazons.Images, err)
	}
}

func TestAnAMIThatDoesNotExistOrIsMalformedIsRefusedAsEC2Does(t *testing.T) {
	f := newFixture(t)
	_, err := f.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{"ami-00000000000000000"}})
	wantCode(t, err, "InvalidAMIID.NotFound")
	_, err = f.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{"web"}})
	wantCode(t, err, "InvalidAMIID.Malformed")
	_, err = f.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: []types.Filter{{Name: aws.String("colour"), Values: []string{"red"}}}})
	wantCode(t, err, "InvalidParameterValue")
}

func TestTheDefaultNetworkIsWhatScriptsLookFor(t *testing.T) {
	f := newFixture(t)
	vpcs, err := f.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	if err != nil || len(vpcs.Vpcs) != 1 || !aws.ToBool(vpcs.Vpcs[0].IsDefault) {
		t.Fatalf("default VPC: %+v, %v", vpcs.Vpcs, err)
	}
	vpc := aws.ToString(vpcs.Vpcs[0].VpcId)
	subnets, err := f.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpc}}}})
	if err != nil || len(subnets.Subnets) != 1 || aws.ToString(subnets.Subnets[0].AvailabilityZone) != "us-east-1a" {
		t.Fatalf("subnets: %+v, %v", subnets.Subnets, err)
	}
	sgs, err := f.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"default"}})
	if err != nil || len(sgs.SecurityGroups) != 1 || aws.ToString(sgs.SecurityGroups[0].VpcId) != vpc {
		t.Fatalf("default security group: %+v, %v", sgs.SecurityGroups, err)
	}
	_, err = f.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{"vpc-12345678"}})
	wantCode(t, err, "InvalidVpcID.NotFound")
	_, err = f.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"web-sg"}})
	wantCode(t, err, "InvalidGroup.NotFound")
}

func TestInstanceTypesAreSizedAsAWSSizesThem(t *testing.T) {
	f := newFixture(t)
	out, err := f.ec2.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: []types.InstanceType{"t3.micro", "m5.large"}})
	if err != nil || len(out.InstanceTypes) != 2 {
		t.Fatalf("%+v, %v", out, err)
	}
	micro := out.InstanceTypes[0]
	if aws.ToInt32(micro.VCpuInfo.DefaultVCpus) != 2 || aws.ToInt64(micro.MemoryInfo.SizeInMiB) != 1024 || !aws.ToBool(micro.BurstablePerformanceSupported) {
		t.Fatalf("t3.micro: %+v %+v", micro.VCpuInfo, micro.MemoryInfo)
	}
	all, err := f.ec2.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{})
	if err != nil {
		t.Fatalf("all types: %v", err)
	}
	if len(all.InstanceTypes) < 20 {
		t.Fatalf("all types: %d", len(all.InstanceTypes))
	}
	_, err = f.ec2.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: []types.InstanceType{"t9.huge"}})
	wantCode(t, err, "InvalidInstanceType")
}
