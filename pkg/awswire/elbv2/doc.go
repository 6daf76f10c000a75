// Package elbv2 is the generated wire codec of Elastic Load Balancing v2's API: request
// decoders, answer encoders and the operation table, for the operations
// the daemon serves. Regenerate with go generate after changing the list.
package elbv2

//go:generate go run ../../../tools/awsgen -model ../../../third_party/botocore/data/elbv2/2015-12-01/service-2.json.gz -package elbv2 -out zz_generated.go -ops CreateLoadBalancer,DescribeLoadBalancers,DescribeRules,DeleteLoadBalancer,CreateTargetGroup,DescribeTargetGroups,DeleteTargetGroup,CreateListener,DescribeListeners,DeleteListener,RegisterTargets,DeregisterTargets,DescribeTargetHealth,ModifyTargetGroupAttributes,DescribeTargetGroupAttributes,ModifyLoadBalancerAttributes,DescribeLoadBalancerAttributes,AddTags,RemoveTags,DescribeTags
