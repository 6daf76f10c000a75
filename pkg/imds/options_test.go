package imds_test

import (
	"net/http"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/imds"
)

// http_tokens: required answers IMDSv1 401, as EC2 does, and serves a
// request with a session token.
func TestRequiredTokensRefuseIMDSv1AndServeIMDSv2(t *testing.T) {
	md := testMetadata()
	md.Options = imds.MetadataOptions{HTTPEndpoint: imds.EndpointEnabled, HTTPTokens: imds.TokensRequired}
	h := newHandler(t, md, imds.Options{})
	if rec := get(h, "/latest/meta-data/instance-id", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("IMDSv1 with tokens required: %d %q, want 401", rec.Code, rec.Body)
	}
	token := putToken(t, h, "60")
	if rec := get(h, "/latest/meta-data/instance-id", token); rec.Code != http.StatusOK || rec.Body.String() != md.InstanceID {
		t.Errorf("IMDSv2 with tokens required: %d %q, want 200 and the id", rec.Code, rec.Body)
	}
}

// http_endpoint: disabled answers everything 403, the token request too.
func TestADisabledEndpointAnswersEverything403(t *testing.T) {
	md := testMetadata()
	md.Options = imds.MetadataOptions{HTTPEndpoint: imds.EndpointDisabled}
	h := newHandler(t, md, imds.Options{})
	for _, r := range []struct{ method, path string }{{http.MethodGet, "/latest/meta-data/instance-id"}, {http.MethodPut, "/latest/api/token"}, {http.MethodGet, "/latest/user-data"}} {
		if rec := do(h, r.method, r.path, map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"}); rec.Code != http.StatusForbidden {
			t.Errorf("%s %s with the endpoint disabled: %d, want 403", r.method, r.path, rec.Code)
		}
	}
}

// The zero options are EC2's defaults: IMDSv1 is served.
func TestZeroOptionsServeIMDSv1(t *testing.T) {
	h := newHandler(t, testMetadata(), imds.Options{})
	if rec := get(h, "/latest/meta-data/instance-id", ""); rec.Code != http.StatusOK {
		t.Errorf("IMDSv1 with default options: %d", rec.Code)
	}
}
