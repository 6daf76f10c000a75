// Package ec2 is the generated wire codec of Amazon EC2's API: request
// decoders, answer encoders and the operation table, for the operations
// the daemon serves. Regenerate with go generate after changing the list.
package ec2

//go:generate go run ../../../tools/awsgen -model ../../../third_party/botocore/data/ec2/2016-11-15/service-2.json.gz -package ec2 -out zz_generated.go -ops DescribeImages,CreateLaunchTemplate,DescribeLaunchTemplates,DeleteLaunchTemplate,DeleteLaunchTemplateVersions,CreateLaunchTemplateVersion,DescribeLaunchTemplateVersions,ModifyLaunchTemplate,RunInstances,TerminateInstances,DescribeInstances,DescribeInstanceStatus,CreateTags,DeleteTags,DescribeTags,DescribeInstanceTypes,DescribeVpcs,DescribeSubnets,DescribeSecurityGroups
