// Package sts is the generated wire codec of AWS STS's API: request
// decoders, answer encoders and the operation table, for the operations
// the daemon serves. Regenerate with go generate after changing the list.
package sts

//go:generate go run ../../../tools/awsgen -model ../../../third_party/botocore/data/sts/2011-06-15/service-2.json.gz -package sts -out zz_generated.go -ops GetCallerIdentity
