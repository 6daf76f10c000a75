package sts_test

import (
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdksts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/vmfleet/vmfleet/pkg/awswire/awswiretest"
	"github.com/vmfleet/vmfleet/pkg/awswire/sts"
)

func TestGetCallerIdentityWithTheSDK(t *testing.T) {
	ptr := awswiretest.Ptr[string]
	c := awswiretest.Client(t, awswiretest.Answer(t, sts.DecodeGetCallerIdentityInput, sts.EncodeGetCallerIdentityResponse,
		func(params url.Values, _ *sts.GetCallerIdentityInput) *sts.GetCallerIdentityOutput {
			if params.Get("Action") != "GetCallerIdentity" || params.Get("Version") != "2011-06-15" {
				t.Errorf("Action and Version: %v", params)
			}
			return &sts.GetCallerIdentityOutput{
				UserId:  ptr("AKIDTEST"),
				Account: ptr("123456789012"),
				Arn:     ptr("arn:aws:iam::123456789012:root"),
			}
		}), sdksts.NewFromConfig)
	got, err := c.GetCallerIdentity(t.Context(), &sdksts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.Account) != "123456789012" || aws.ToString(got.Arn) != "arn:aws:iam::123456789012:root" ||
		aws.ToString(got.UserId) != "AKIDTEST" {
		t.Errorf("identity: account %q arn %q user %q", aws.ToString(got.Account), aws.ToString(got.Arn), aws.ToString(got.UserId))
	}
}
