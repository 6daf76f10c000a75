package ec2api

import (
	"context"
	"slices"

	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire/ec2"
)

// The one default network. Every instance has its own user-mode network
// (10.0.2.0/24, QEMU's), reached from the host through its balancer or
// forward; these are what scripts find when they look for the default
// VPC, subnet and security group before launching.
const (
	DefaultVPC           = "vpc-0000000000000f1ee"
	DefaultSubnet        = "subnet-0000000000000f1ee"
	DefaultSecurityGroup = "sg-0000000000000f1ee"
	vpcCIDR              = "10.0.0.0/16"
	subnetCIDR           = "10.0.2.0/24"
)

// zone is the region's one availability zone.
func (e *EC2) zone() string { return e.Region + "a" }

// single answers a Describe of one resource: all of it, or nothing, or
// the NotFound error for an ID asked that is not it.
func single(asked []string, id, notFound, noun string) (bool, error) {
	for _, a := range asked {
		if a != id {
			return false, awsapi.Errorf(notFound, "The %s ID '%s' does not exist", noun, a)
		}
	}
	return true, nil
}

func (e *EC2) describeVpcs(ctx context.Context, in *ec2.DescribeVpcsInput) (*ec2.DescribeVpcsOutput, error) {
	of := func(name string) ([]string, bool) {
		v, ok := map[string]string{"vpc-id": DefaultVPC, "is-default": "true", "isDefault": "true", "state": "available",
			"cidr": vpcCIDR, "cidr-block-association.cidr-block": vpcCIDR, "owner-id": e.Account}[name]
		return []string{v}, ok
	}
	out := &ec2.DescribeVpcsOutput{Vpcs: []ec2.Vpc{}}
	if err := check(in.Filters, of); err != nil {
		return nil, err
	}
	if _, err := single(in.VpcIds, DefaultVPC, "InvalidVpcID.NotFound", "vpc"); err != nil {
		return nil, err
	}
	if match(in.Filters, of, nil) {
		out.Vpcs = append(out.Vpcs, ec2.Vpc{VpcId: new(DefaultVPC), IsDefault: new(true), State: new("available"), CidrBlock: new(vpcCIDR),
			OwnerId: new(e.Account), InstanceTenancy: new("default"), DhcpOptionsId: new("default"), Tags: []ec2.Tag{}})
	}
	return out, nil
}

func (e *EC2) describeSubnets(ctx context.Context, in *ec2.DescribeSubnetsInput) (*ec2.DescribeSubnetsOutput, error) {
	of := func(name string) ([]string, bool) {
		v, ok := map[string]string{"subnet-id": DefaultSubnet, "vpc-id": DefaultVPC, "default-for-az": "true", "defaultForAz": "true",
			"availability-zone": e.zone(), "availabilityZone": e.zone(), "state": "available", "cidr-block": subnetCIDR, "owner-id": e.Account}[name]
		return []string{v}, ok
	}
	out := &ec2.DescribeSubnetsOutput{Subnets: []ec2.Subnet{}}
	if err := check(in.Filters, of); err != nil {
		return nil, err
	}
	if _, err := single(in.SubnetIds, DefaultSubnet, "InvalidSubnetID.NotFound", "subnet"); err != nil {
		return nil, err
	}
	if match(in.Filters, of, nil) {
		out.Subnets = append(out.Subnets, ec2.Subnet{SubnetId: new(DefaultSubnet), VpcId: new(DefaultVPC), State: new("available"),
			CidrBlock: new(subnetCIDR), AvailabilityZone: new(e.zone()), AvailabilityZoneId: new("use1-az1"), DefaultForAz: new(true),
			MapPublicIpOnLaunch: new(true), AvailableIpAddressCount: new(int32(251)), OwnerId: new(e.Account),
			SubnetArn: new("arn:aws:ec2:" + e.Region + ":" + e.Account + ":subnet/" + DefaultSubnet), Tags: []ec2.Tag{}})
	}
	return out, nil
}

func (e *EC2) describeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput) (*ec2.DescribeSecurityGroupsOutput, error) {
	of := func(name string) ([]string, bool) {
		v, ok := map[string]string{"group-id": DefaultSecurityGroup, "group-name": "default", "vpc-id": DefaultVPC, "owner-id": e.Account,
			"description": "default VPC security group"}[name]
		return []string{v}, ok
	}
	out := &ec2.DescribeSecurityGroupsOutput{SecurityGroups: []ec2.SecurityGroup{}}
	if err := check(in.Filters, of); err != nil {
		return nil, err
	}
	if _, err := single(in.GroupIds, DefaultSecurityGroup, "InvalidGroup.NotFound", "security group"); err != nil {
		return nil, err
	}
	if i := slices.IndexFunc(in.GroupNames, func(n string) bool { return n != "default" }); i >= 0 {
		return nil, awsapi.Errorf("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", in.GroupNames[i], DefaultVPC)
	}
	if match(in.Filters, of, nil) {
		out.SecurityGroups = append(out.SecurityGroups, ec2.SecurityGroup{GroupId: new(DefaultSecurityGroup), GroupName: new("default"),
			Description: new("default VPC security group"), VpcId: new(DefaultVPC), OwnerId: new(e.Account),
			SecurityGroupArn: new("arn:aws:ec2:" + e.Region + ":" + e.Account + ":security-group/" + DefaultSecurityGroup),
			IpPermissions:    []ec2.IpPermission{}, IpPermissionsEgress: []ec2.IpPermission{}, Tags: []ec2.Tag{}})
	}
	return out, nil
}
