// Package autoscaling is the generated wire codec of Amazon EC2 Auto Scaling's API: request
// decoders, answer encoders and the operation table, for the operations
// the daemon serves. Regenerate with go generate after changing the list.
package autoscaling

//go:generate go run ../../../tools/awsgen -model ../../../third_party/botocore/data/autoscaling/2011-01-01/service-2.json.gz -package autoscaling -out zz_generated.go -ops CreateAutoScalingGroup,EnableMetricsCollection,DisableMetricsCollection,UpdateAutoScalingGroup,DescribeAutoScalingGroups,DeleteAutoScalingGroup,SetDesiredCapacity,DescribeAutoScalingInstances,TerminateInstanceInAutoScalingGroup,SetInstanceHealth,SetInstanceProtection,AttachLoadBalancerTargetGroups,DetachLoadBalancerTargetGroups,PutScalingPolicy,DescribePolicies,DeletePolicy,DescribeScalingActivities,PutWarmPool,DescribeWarmPool,DeleteWarmPool,StartInstanceRefresh,DescribeInstanceRefreshes,CancelInstanceRefresh,RollbackInstanceRefresh,PutLifecycleHook,DescribeLifecycleHooks,DeleteLifecycleHook,CompleteLifecycleAction,RecordLifecycleActionHeartbeat,EnterStandby,ExitStandby,CreateOrUpdateTags,DeleteTags,DescribeTags
