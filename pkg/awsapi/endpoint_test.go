package awsapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awsapi/stsapi"
	"github.com/vmfleet/vmfleet/pkg/awsauth"
	"github.com/vmfleet/vmfleet/pkg/awswire/awswiretest"
	wec2 "github.com/vmfleet/vmfleet/pkg/awswire/ec2"
)

var key = awsauth.Credentials{AccessKeyID: "AKIAHOMEKEY000000000", SecretAccessKey: "home-secret-0123456789"}

// ec2Stub is an EC2 service whose one operation, DescribeVpcs, answers
// an empty list: enough to see the endpoint's part.
func ec2Stub() *awsapi.Service {
	return &awsapi.Service{
		SigningName: wec2.SigningName, Version: wec2.APIVersion, Protocol: awsapi.EC2,
		Operations: wec2.Operations(), EncodeError: wec2.EncodeError,
		Handlers: map[string]awsapi.Handler{
			"DescribeVpcs": awsapi.Op(func(context.Context, *wec2.DescribeVpcsInput) (*wec2.DescribeVpcsOutput, error) {
				return &wec2.DescribeVpcsOutput{}, nil
			}),
			"CreateLaunchTemplate": awsapi.Op(func(context.Context, *wec2.CreateLaunchTemplateInput) (*wec2.CreateLaunchTemplateOutput, error) {
				return &wec2.CreateLaunchTemplateOutput{}, nil
			}),
			"DescribeLaunchTemplates": awsapi.Op(func(context.Context, *wec2.DescribeLaunchTemplatesInput) (*wec2.DescribeLaunchTemplatesOutput, error) {
				return nil, errors.New("the store is on fire")
			}),
		},
	}
}

func endpoint(t *testing.T, any bool) string {
	t.Helper()
	v := &awsauth.Verifier{Credentials: key, AnyCredentials: any, Region: "us-east-1"}
	srv := httptest.NewServer(awsapi.New(v, nil, stsapi.Service("000000000000"), ec2Stub()))
	t.Cleanup(srv.Close)
	return srv.URL
}

func config(url string, c awsauth.Credentials) aws.Config {
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url), Retryer: awswiretest.Retryer,
		Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, "")}
}

func apiCode(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("not an API error: %v", err)
	}
	return ae.ErrorCode()
}

func TestTheSDKAsksWhoItIsWithTheHomesKey(t *testing.T) {
	out, err := sts.NewFromConfig(config(endpoint(t, false), key)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != "000000000000" || aws.ToString(out.Arn) != "arn:aws:iam::000000000000:root" {
		t.Fatalf("identity %s %s", aws.ToString(out.Account), aws.ToString(out.Arn))
	}
}

func TestAnotherKeyIsRefusedUnlessAnyCredentialsAreAccepted(t *testing.T) {
	other := awsauth.Credentials{AccessKeyID: "AKIAOTHERKEY00000000", SecretAccessKey: "x"}
	_, err := sts.NewFromConfig(config(endpoint(t, false), other)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if code := apiCode(t, err); code != "InvalidClientTokenId" {
		t.Fatalf("code %s", code)
	}
	_, err = ec2.NewFromConfig(config(endpoint(t, false), other)).DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{})
	if code := apiCode(t, err); code != "InvalidClientTokenId" {
		t.Fatalf("EC2's envelope: code %s", code)
	}
	if _, err := sts.NewFromConfig(config(endpoint(t, true), other)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("any credentials: %v", err)
	}
}

// post sends a form, signed with the home's key, as a script would.
func post(t *testing.T, base, service string, form url.Values) (*http.Response, string) {
	t.Helper()
	r, err := http.NewRequest("POST", base+"/", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sign(t, r, form.Encode(), service)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestAnUnknownActionGetsAWSsXMLErrorAndARequestID(t *testing.T) {
	resp, body := post(t, endpoint(t, false), "sts", url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}})
	if resp.StatusCode != 400 || !strings.Contains(body, "<Code>InvalidAction</Code>") || !strings.Contains(body, "<ErrorResponse") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if id := resp.Header.Get("x-amzn-RequestId"); len(id) != 36 || !strings.Contains(body, id) {
		t.Fatalf("request id %q not in the header and body: %s", id, body)
	}
}

func TestEC2AnswersDryRunAndMissingParametersInItsOwnEnvelope(t *testing.T) {
	base := endpoint(t, false)
	resp, body := post(t, base, "ec2", url.Values{"Action": {"DescribeVpcs"}, "Version": {"2016-11-15"}, "DryRun": {"true"}})
	if resp.StatusCode != 412 || !strings.Contains(body, "<Code>DryRunOperation</Code>") || !strings.Contains(body, "<Response><Errors>") {
		t.Fatalf("dry run: %d %s", resp.StatusCode, body)
	}
	_, err := ec2.NewFromConfig(config(base, key)).DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{DryRun: aws.Bool(true)})
	if code := apiCode(t, err); code != "DryRunOperation" {
		t.Fatalf("the SDK's dry run: %s", code)
	}
	resp, body = post(t, base, "ec2", url.Values{"Action": {"DescribeLaunchTemplates"}, "Version": {"2016-11-15"}})
	if resp.StatusCode != 500 || !strings.Contains(body, "<Code>InternalError</Code>") || strings.Contains(body, "fire") {
		t.Fatalf("a handler's failure: %d %s", resp.StatusCode, body)
	}
}

func TestAServiceNotServedIsNamedInTheRefusal(t *testing.T) {
	resp, body := post(t, endpoint(t, false), "s3", url.Values{"Action": {"ListBuckets"}})
	if resp.StatusCode != 400 || !strings.Contains(body, "UnknownService") || !strings.Contains(body, "s3") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

func TestAnUnsignedRequestIsRefusedInItsServicesEnvelopeFoundByItsVersion(t *testing.T) {
	form := url.Values{"Action": {"DescribeVpcs"}, "Version": {"2016-11-15"}}
	resp, err := http.PostForm(endpoint(t, true)+"/", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 403 || !strings.Contains(string(b), "<Response><Errors><Error><Code>MissingAuthenticationToken</Code>") {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
}

func TestARequiredParameterMissingIsNamedAsEachProtocolNamesIt(t *testing.T) {
	base := endpoint(t, false)
	resp, body := post(t, base, "ec2", url.Values{"Action": {"CreateLaunchTemplate"}, "Version": {"2016-11-15"}, "LaunchTemplateName": {"web"}})
	if resp.StatusCode != 400 || !strings.Contains(body, "<Code>MissingParameter</Code>") || !strings.Contains(body, "LaunchTemplateData") {
		t.Fatalf("EC2: %d %s", resp.StatusCode, body)
	}
	resp, body = post(t, base, "ec2", url.Values{"Action": {"DescribeVpcs"}, "Version": {"2016-11-15"}, "MaxResults": {"many"}})
	if resp.StatusCode != 400 || !strings.Contains(body, "<Code>InvalidParameterValue</Code>") || !strings.Contains(body, "MaxResults") {
		t.Fatalf("EC2, a number that is not: %d %s", resp.StatusCode, body)
	}
}
