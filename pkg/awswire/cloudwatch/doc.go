// Package cloudwatch is the generated wire codec of Amazon CloudWatch's API: request
// decoders, answer encoders and the operation table, for the operations
// the daemon serves. Regenerate with go generate after changing the list.
package cloudwatch

//go:generate go run ../../../tools/awsgen -model ../../../third_party/botocore/data/cloudwatch/2010-08-01/service-2.json.gz -package cloudwatch -out zz_generated.go -ops GetMetricData,GetMetricStatistics,ListMetrics
