package ec2api_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/awsapi"
	"github.com/vmfleet/vmfleet/pkg/awsapi/ec2api"
	"github.com/vmfleet/vmfleet/pkg/awsauth"
	"github.com/vmfleet/vmfleet/pkg/awswire/awswiretest"
	"github.com/vmfleet/vmfleet/pkg/image"
	"github.com/vmfleet/vmfleet/pkg/store"
)

// images is an image store of manifests.
type images []*image.Manifest

func (is images) List() ([]*image.Manifest, error) { return is, nil }

func (is images) Get(ref string) (*image.Manifest, error) {
	for _, m := range is {
		if m.Name == ref || strings.HasPrefix(m.Digest, ref) {
			return m, nil
		}
	}
	return nil, image.ErrNotFound
}

const (
	webDigest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	apiDigest = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	webAMI    = "ami-0123456789abcdef0"
	apiAMI    = "ami-fedcba9876543210f"
)

var baked = images{
	{Name: "web", Digest: webDigest, Source: "binary", Command: []string{"/app/web"}, Env: []string{"MODE=prod"}, Port: 8080, Created: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
	{Name: "api", Digest: apiDigest, Source: "rootfs", Command: []string{"python3", "-m", "http.server"}, Port: 8000, Created: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)},
}

// noInstances is a runtime without instances.
type noInstances struct{}

func (noInstances) Instances(context.Context) ([]api.InstanceRow, error) { return nil, nil }
func (noInstances) Remove(context.Context, []string, time.Duration) ([]string, error) {
	return nil, errors.New("no instances")
}
func (noInstances) RunFromTemplate(context.Context, store.LaunchTemplateVersion, map[string]string) (api.InstanceRow, error) {
	return api.InstanceRow{}, errors.New("no instances")
}
func (noInstances) TagInstance(context.Context, string, map[string]string, map[string]*string) error {
	return errors.New("no instances")
}
func (noInstances) UpdateGroup(context.Context, store.Group) error { return errors.New("no groups") }

// fixture is an EC2 endpoint on a new store, and an SDK client of it.
type fixture struct {
	ec2   *ec2.Client
	store *store.Store
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key := awsauth.NewCredentials()
	svc := &ec2api.EC2{Images: baked, Store: st, Runtime: noInstances{}, Account: "000000000000", Region: "us-east-1"}
	srv := httptest.NewServer(awsapi.New(&awsauth.Verifier{Credentials: key, Region: "us-east-1"}, nil, svc.Service()))
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Retryer: awswiretest.Retryer,
		Credentials: credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, "")}
	return fixture{ec2: ec2.NewFromConfig(cfg), store: st}
}

// wantCode fails unless err is the AWS error code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("got %v, want %s", err, code)
	}
}

var ctx = context.Background()
