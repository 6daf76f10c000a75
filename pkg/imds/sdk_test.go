package imds_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	ec2imds "github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/vmfleet/vmfleet/pkg/imds"
)

// request is what the server saw of one request.
type request struct {
	method, path string
	token        string
}

// recorder keeps the requests reaching the handler, to show which flow a
// client used.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	seen []request
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	rec.seen = append(rec.seen, request{r.Method, r.URL.Path, r.Header.Get("X-aws-ec2-metadata-token")})
	rec.mu.Unlock()
	rec.next.ServeHTTP(w, r)
}

func (rec *recorder) requests() []request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]request(nil), rec.seen...)
}

// sdkClient is aws-sdk-go-v2's own IMDS client pointed at h, with IMDSv1
// fallback off so that every call must go through a token.
func sdkClient(t *testing.T, h http.Handler) (*ec2imds.Client, *recorder) {
	t.Helper()
	rec := &recorder{next: h}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	noWait := retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	client := ec2imds.New(ec2imds.Options{
		Endpoint:          srv.URL,
		HTTPClient:        srv.Client(),
		ClientEnableState: ec2imds.ClientEnabled,
		EnableFallback:    aws.FalseTernary,
		Retryer:           retry.NewStandard(func(o *retry.StandardOptions) { o.Backoff = noWait }),
		// Else the SDK swaps in its own backoff of up to a second.
		DisableDefaultMaxBackoff: true,
	})
	return client, rec
}

func sdkMetadata(t *testing.T, client *ec2imds.Client, path string) string {
	t.Helper()
	out, err := client.GetMetadata(context.Background(), &ec2imds.GetMetadataInput{Path: path})
	if err != nil {
		t.Fatalf("GetMetadata(%q): %v", path, err)
	}
	defer out.Content.Close()
	body, err := io.ReadAll(out.Content)
	if err != nil {
		t.Fatalf("read GetMetadata(%q): %v", path, err)
	}
	return string(body)
}

func TestSDKReadsEveryMetadataKey(t *testing.T) {
	client, _ := sdkClient(t, newHandler(t, testMetadata(), imds.Options{}))
	for path, want := range map[string]string{
		"ami-id":                      "sha256:5f1e2d",
		"hostname":                    "web-1",
		"instance-id":                 "i-1b90f4dbddeb",
		"instance-type":               "vmf.c0.5-m128",
		"local-hostname":              "web-1",
		"local-ipv4":                  "10.0.2.15",
		"placement/availability-zone": "local-1a",
		"placement/region":            "local-1",
		"tags/instance/":              "fleet\nservice",
		"tags/instance/fleet":         "shop",
		"tags/instance/service":       "web",
		"":                            metaDataListing,
		"/placement/":                 "availability-zone\nregion",
	} {
		if got := sdkMetadata(t, client, path); got != want {
			t.Errorf("GetMetadata(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestSDKUsesATokenForEveryRequest(t *testing.T) {
	client, rec := sdkClient(t, newHandler(t, testMetadata(), imds.Options{}))
	sdkMetadata(t, client, "instance-id")
	sdkMetadata(t, client, "local-ipv4")

	seen := rec.requests()
	if len(seen) != 3 {
		t.Fatalf("server saw %v, want one token PUT and two GETs", seen)
	}
	if seen[0].method != http.MethodPut || seen[0].path != "/latest/api/token" {
		t.Fatalf("first request %v, want PUT /latest/api/token", seen[0])
	}
	for _, r := range seen[1:] {
		if r.method != http.MethodGet || r.token == "" {
			t.Fatalf("request %v carried no token", r)
		}
	}
	if seen[1].token != seen[2].token {
		t.Fatalf("the SDK changed tokens between calls (%q, %q); its first should have stayed valid", seen[1].token, seen[2].token)
	}
}

func TestSDKReadsUserData(t *testing.T) {
	client, _ := sdkClient(t, newHandler(t, testMetadata(), imds.Options{}))
	out, err := client.GetUserData(context.Background(), nil)
	if err != nil {
		t.Fatalf("GetUserData: %v", err)
	}
	defer out.Content.Close()
	body, err := io.ReadAll(out.Content)
	if err != nil {
		t.Fatalf("read user data: %v", err)
	}
	if string(body) != "#!/bin/sh\necho hi\n" {
		t.Fatalf("user data %q", body)
	}
}

func TestSDKReadsTheIdentityDocument(t *testing.T) {
	md := testMetadata()
	client, _ := sdkClient(t, newHandler(t, md, imds.Options{}))
	out, err := client.GetInstanceIdentityDocument(context.Background(), nil)
	if err != nil {
		t.Fatalf("GetInstanceIdentityDocument: %v", err)
	}
	doc := out.InstanceIdentityDocument
	got := [...]string{doc.InstanceID, doc.ImageID, doc.InstanceType, doc.AvailabilityZone, doc.Region, doc.PrivateIP}
	want := [...]string{md.InstanceID, md.ImageID, md.InstanceType, md.AvailabilityZone, md.Region, md.LocalIPv4}
	if got != want {
		t.Fatalf("identity document %+v, want fields %v", doc, want)
	}
	if !doc.PendingTime.Equal(md.LaunchTime) {
		t.Fatalf("pendingTime %v, want the launch time %v", doc.PendingTime, md.LaunchTime)
	}
}

func TestSDKReadsTheRegion(t *testing.T) {
	client, _ := sdkClient(t, newHandler(t, testMetadata(), imds.Options{}))
	out, err := client.GetRegion(context.Background(), nil)
	if err != nil {
		t.Fatalf("GetRegion: %v", err)
	}
	if out.Region != "local-1" {
		t.Fatalf("region %q, want local-1", out.Region)
	}
}

func TestSDKRecoversWhenItsTokenIsEvicted(t *testing.T) {
	h := newHandler(t, testMetadata(), imds.Options{MaxTokens: 1})
	client, rec := sdkClient(t, h)
	sdkMetadata(t, client, "instance-id")
	// Another process in the guest takes the only slot.
	putToken(t, h, "60")

	if got := sdkMetadata(t, client, "instance-id"); got != "i-1b90f4dbddeb" {
		t.Fatalf("instance-id after eviction = %q", got)
	}
	puts := 0
	for _, r := range rec.requests() {
		if r.method == http.MethodPut {
			puts++
		}
	}
	if puts != 2 {
		t.Fatalf("SDK asked for %d tokens, want a second one after its first was refused", puts)
	}
}
