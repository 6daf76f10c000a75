// Package stsapi answers STS: who the caller is.
package stsapi

import (
	"context"

	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awswire/sts"
)

// Service is STS for the endpoint's one account, whose key is its root
// user's.
func Service(account string) *awsapi.Service {
	return &awsapi.Service{
		SigningName: sts.SigningName, Version: sts.APIVersion, Protocol: awsapi.Query,
		Operations: sts.Operations(), EncodeError: sts.EncodeError,
		Handlers: map[string]awsapi.Handler{
			"GetCallerIdentity": awsapi.Op(func(context.Context, *sts.GetCallerIdentityInput) (*sts.GetCallerIdentityOutput, error) {
				arn := "arn:aws:iam::" + account + ":root"
				return &sts.GetCallerIdentityOutput{UserId: &account, Account: &account, Arn: &arn}, nil
			}),
		},
	}
}
