package imds_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/imds"
)

const metaDataListing = "ami-id\nhostname\ninstance-id\ninstance-type\nlocal-hostname\nlocal-ipv4\nplacement/\ntags/"

func testMetadata() imds.Metadata {
	return imds.Metadata{
		InstanceID:       "i-1b90f4dbddeb",
		ImageID:          "sha256:5f1e2d",
		InstanceType:     "vmf.c0.5-m128",
		LocalIPv4:        "10.0.2.15",
		Hostname:         "web-1",
		AvailabilityZone: "local-1a",
		Region:           "local-1",
		Tags:             map[string]string{"service": "web", "fleet": "shop"},
		UserData:         []byte("#!/bin/sh\necho hi\n"),
		LaunchTime:       time.Date(2026, 12, 2, 4, 5, 6, 0, time.UTC),
	}
}

func newHandler(t *testing.T, md imds.Metadata, opts imds.Options) http.Handler {
	t.Helper()
	h, err := imds.NewHandler(md, opts)
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	return h
}

func do(h http.Handler, method, path string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// putToken asks for a token living ttl seconds and fails the test unless
// it gets one.
func putToken(t *testing.T, h http.Handler, ttl string) string {
	t.Helper()
	rec := do(h, http.MethodPut, "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": ttl})
	if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
		t.Fatalf("PUT token: %d %q", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func get(h http.Handler, path, token string) *httptest.ResponseRecorder {
	header := map[string]string{}
	if token != "" {
		header["X-aws-ec2-metadata-token"] = token
	}
	return do(h, http.MethodGet, path, header)
}

func TestRequestWithoutATokenIsServedAsIMDSv1(t *testing.T) {
	rec := get(newHandler(t, testMetadata(), imds.Options{}), "/latest/meta-data/instance-id", "")
	if rec.Code != http.StatusOK || rec.Body.String() != "i-1b90f4dbddeb" {
		t.Fatalf("got %d %q, want 200 i-1b90f4dbddeb", rec.Code, rec.Body)
	}
}

func TestTokenIsAcceptedUntilItsTTLPasses(t *testing.T) {
	now := time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	h := newHandler(t, testMetadata(), imds.Options{Now: func() time.Time { return now }})
	token := putToken(t, h, "60")

	now = now.Add(59 * time.Second)
	if rec := get(h, "/latest/meta-data/instance-id", token); rec.Code != http.StatusOK {
		t.Fatalf("token 59s into its 60s: %d %q, want 200", rec.Code, rec.Body)
	}
	now = now.Add(time.Second)
	if rec := get(h, "/latest/meta-data/instance-id", token); rec.Code != http.StatusUnauthorized {
		t.Fatalf("token at the end of its 60s: %d, want 401", rec.Code)
	}
}

func TestUnknownOrEmptyTokenIsRefused(t *testing.T) {
	h := newHandler(t, testMetadata(), imds.Options{})
	putToken(t, h, "60")
	for _, token := range []string{"AQAEAnotatoken", ""} {
		req := httptest.NewRequest(http.MethodGet, "/latest/meta-data/instance-id", nil)
		req.Header["X-Aws-Ec2-Metadata-Token"] = []string{token}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("token %q: %d, want 401", token, rec.Code)
		}
	}
}

func TestTokenResponseEchoesItsTTL(t *testing.T) {
	h := newHandler(t, testMetadata(), imds.Options{})
	for _, ttl := range []string{"1", "21600"} {
		rec := do(h, http.MethodPut, "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": ttl})
		if rec.Code != http.StatusOK {
			t.Fatalf("TTL %s: %d %q, want 200", ttl, rec.Code, rec.Body)
		}
		if got := rec.Header().Get("X-aws-ec2-metadata-token-ttl-seconds"); got != ttl {
			t.Fatalf("TTL %s echoed as %q", ttl, got)
		}
	}
}

func TestEachTokenIsNew(t *testing.T) {
	h := newHandler(t, testMetadata(), imds.Options{})
	if a, b := putToken(t, h, "60"), putToken(t, h, "60"); a == b {
		t.Fatalf("two token requests both got %q", a)
	}
}

func TestTokenTTLOutsideOneSecondToSixHoursIsABadRequest(t *testing.T) {
	h := newHandler(t, testMetadata(), imds.Options{})
	for _, ttl := range []string{"0", "21601", "-5", "1.5", "sixty", ""} {
		rec := do(h, http.MethodPut, "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": ttl})
		if rec.Code != http.StatusBadRequest {
			t.Fatalf("TTL %q: %d, want 400", ttl, rec.Code)
		}
		if !strings.Contains(rec.Body.String(), "1 to 21600") {
			t.Fatalf("TTL %q: error %q does not say the allowed range", ttl, rec.Body)
		}
	}
	if rec := do(h, http.MethodPut, "/latest/api/token", nil); rec.Code != http.StatusBadRequest {
		t.Fatalf("no TTL header: %d, want 400", rec.Code)
	}
}

func TestForwardedTokenRequestIsForbidden(t *testing.T) {
	h := newHandler(t, testMetadata(), imds.Options{})
	rec := do(h, http.MethodPut, "/latest/api/token", map[string]string{
		"X-aws-ec2-metadata-token-ttl-seconds": "60",
		"X-Forwarded-For":                      "192.0.2.7",
	})
	if rec.Code != http.StatusForbidden {
		t.Fatalf("PUT with X-Forwarded-For: %d, want 403", rec.Code)
	}
}

func TestDirectoriesListTheirEntriesWithDirectoriesEndingInASlash(t *testing.T) {
	h := newHandler(t, testMetadata(), imds.Options{})
	for path, want := range map[string]string{
		"/latest/":                              "dynamic/\nmeta-data/\nuser-data",
		"/latest/meta-data/":                    metaDataListing,
		"/latest/meta-data":                     metaDataListing,
		"/latest/meta-data/placement":           "availability-zone\nregion",
		"/latest/meta-data/tags/":               "instance/",
		"/latest/meta-data/tags/instance/":      "fleet\nservice",
		"/latest/dynamic/instance-identity/":    "document",
		"/latest/meta-data/tags/instance/fleet": "shop",
	} {
		if rec := get(h, path, ""); rec.Code != http.StatusOK || rec.Body.String() != want {
			t.Errorf("GET %s: %d %q, want 200 %q", path, rec.Code, rec.Body, want)
		}
	}
}

func TestUnknownPathsAreNotFound(t *testing.T) {
	h := newHandler(t, testMetadata(), imds.Options{})
	for _, path := range []string{
		"/latest/meta-data/public-ipv4",
		"/latest/meta-data/instance-id/",
		"/latest/meta-data/instance-id/more",
		"/latest/meta-data//instance-id",
		"/latest/meta-data/tags/instance/owner",
		"/2009-04-04/meta-data/instance-id",
	} {
		if rec := get(h, path, ""); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d %q, want 404", path, rec.Code, rec.Body)
		}
	}
}

func TestUserDataIsNotFoundWhenThereIsNone(t *testing.T) {
	md := testMetadata()
	md.UserData = nil
	h := newHandler(t, md, imds.Options{})
	if rec := get(h, "/latest/user-data", ""); rec.Code != http.StatusNotFound {
		t.Fatalf("GET user-data: %d, want 404", rec.Code)
	}
	if rec := get(h, "/latest/", ""); rec.Body.String() != "dynamic/\nmeta-data/" {
		t.Fatalf("/latest/ lists %q, want no user-data", rec.Body)
	}
}

func TestEmptyFieldsAreNeitherListedNorServed(t *testing.T) {
	md := testMetadata()
	md.Hostname = ""
	h := newHandler(t, md, imds.Options{})
	if rec := get(h, "/latest/meta-data/hostname", ""); rec.Code != http.StatusNotFound {
		t.Fatalf("GET hostname: %d, want 404", rec.Code)
	}
	want := "ami-id\ninstance-id\ninstance-type\nlocal-ipv4\nplacement/\ntags/"
	if rec := get(h, "/latest/meta-data/", ""); rec.Body.String() != want {
		t.Fatalf("listing %q, want %q", rec.Body, want)
	}
}

func TestChangingMetadataAfterNewHandlerChangesNothingServed(t *testing.T) {
	md := testMetadata()
	h := newHandler(t, md, imds.Options{})
	md.UserData[0] = 'X'
	md.Tags["fleet"] = "other"
	if rec := get(h, "/latest/user-data", ""); !strings.HasPrefix(rec.Body.String(), "#!") {
		t.Fatalf("user data %q changed with the caller's slice", rec.Body)
	}
	if rec := get(h, "/latest/meta-data/tags/instance/fleet", ""); rec.Body.String() != "shop" {
		t.Fatalf("tag fleet %q changed with the caller's map", rec.Body)
	}
}

func TestOnlyGetAndHeadReadMetadataAndOnlyPutGetsAToken(t *testing.T) {
	h := newHandler(t, testMetadata(), imds.Options{})
	for _, c := range []struct{ method, path, allow string }{
		{http.MethodPost, "/latest/meta-data/instance-id", "GET, HEAD"},
		{http.MethodPut, "/latest/meta-data/", "GET, HEAD"},
		{http.MethodDelete, "/latest/nothing-here", "GET, HEAD"},
		{http.MethodGet, "/latest/api/token", "PUT"},
		{http.MethodPost, "/latest/api/token", "PUT"},
	} {
		rec := do(h, c.method, c.path, map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"})
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != c.allow {
			t.Errorf("%s %s: %d Allow %q, want 405 Allow %q", c.method, c.path, rec.Code, rec.Header().Get("Allow"), c.allow)
		}
	}
}

func TestHeadAnswersWithTheLengthOfWhatGetWouldSend(t *testing.T) {
	rec := do(newHandler(t, testMetadata(), imds.Options{}), http.MethodHead, "/latest/meta-data/local-ipv4", nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Length") != "9" {
		t.Fatalf("HEAD local-ipv4: %d Content-Length %q, want 200 and 9", rec.Code, rec.Header().Get("Content-Length"))
	}
}

func TestIdentityDocumentUsesEC2FieldNamesAndTimeFormat(t *testing.T) {
	rec := get(newHandler(t, testMetadata(), imds.Options{}), "/latest/dynamic/instance-identity/document", "")
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("document %q is not JSON: %v", rec.Body, err)
	}
	want := map[string]string{
		"instanceId":       "i-1b90f4dbddeb",
		"imageId":          "sha256:5f1e2d",
		"instanceType":     "vmf.c0.5-m128",
		"availabilityZone": "local-1a",
		"region":           "local-1",
		"privateIp":        "10.0.2.15",
		"pendingTime":      "2026-12-02T04:05:06Z",
		"version":          "2017-09-30",
	}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s = %v, want %q", k, doc[k], v)
		}
	}
}

func TestTagKeysThatCannotBeAPathSegmentAreRejected(t *testing.T) {
	for _, key := range []string{"team/web", "has space", "", ".", "..", "_index", "naïve"} {
		md := testMetadata()
		md.Tags = map[string]string{key: "x"}
		_, err := imds.NewHandler(md, imds.Options{})
		if err == nil || !strings.Contains(err.Error(), "letters, digits") {
			t.Errorf("tag key %q: err %v, want one naming the allowed characters", key, err)
		}
	}
	md := testMetadata()
	md.Tags = map[string]string{"aws:name": "a", "a+b=c.d,e_f@g-h": "b"}
	if _, err := imds.NewHandler(md, imds.Options{}); err != nil {
		t.Fatalf("valid tag keys refused: %v", err)
	}
}
