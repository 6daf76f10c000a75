package cloudwatch_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkcloudwatch "github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/vmfleet/vmfleet/pkg/awswire/awswiretest"
)

// request is what a recorder saw of one request.
type request struct {
	path, contentType, target, smithyProtocol, queryMode string
}

// recorder is an endpoint that notes each request's protocol headers and
// answers an empty JSON object, which is a valid empty answer in JSON 1.0.
// seen is read once the client has returned, after the server's last write.
func recorder(t *testing.T) (srv *httptest.Server, seen func() []request) {
	var mu sync.Mutex
	var reqs []request
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		reqs = append(reqs, request{
			path:           r.URL.Path,
			contentType:    r.Header.Get("Content-Type"),
			target:         r.Header.Get("X-Amz-Target"),
			smithyProtocol: r.Header.Get("Smithy-Protocol"),
			queryMode:      r.Header.Get("X-Amzn-Query-Mode"),
		})
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Write([]byte("{}"))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []request {
		mu.Lock()
		defer mu.Unlock()
		return reqs
	}
}

// TestWhatCloudWatchClientsSendByDefault pins down which protocol each real
// client speaks to CloudWatch, since the model lists three
// (smithy-rpc-v2-cbor, json, query) and the clients have moved off query:
// the generated query codec serves neither client's default, and this
// test fails when a client upgrade changes what is sent.
func TestWhatCloudWatchClientsSendByDefault(t *testing.T) {
	for _, c := range []struct {
		client string
		call   func(t *testing.T, endpoint string)
		want   request
	}{
		{
			client: "aws-sdk-go-v2 sends Smithy RPC v2 CBOR",
			call: func(t *testing.T, endpoint string) {
				c := sdkcloudwatch.NewFromConfig(awswiretest.Config(endpoint))
				// The answer is JSON, not CBOR, so the call fails: only
				// the request matters here.
				c.ListMetrics(t.Context(), &sdkcloudwatch.ListMetricsInput{Namespace: aws.String("AWS/EC2")})
			},
			want: request{
				path:           "/service/GraniteServiceVersion20100801/operation/ListMetrics",
				contentType:    "application/cbor",
				smithyProtocol: "rpc-v2-cbor",
				queryMode:      "true",
			},
		},
		{
			client: "the AWS CLI sends JSON 1.0",
			call: func(t *testing.T, endpoint string) {
				awswiretest.CLI(t, endpoint, "cloudwatch", "list-metrics", "--namespace", "AWS/EC2")
			},
			want: request{
				path:        "/",
				contentType: "application/x-amz-json-1.0",
				target:      "GraniteServiceVersion20100801.ListMetrics",
				queryMode:   "true",
			},
		},
	} {
		t.Run(c.client, func(t *testing.T) {
			srv, seen := recorder(t)
			c.call(t, srv.URL)
			if got := seen(); len(got) != 1 || got[0] != c.want {
				t.Errorf("sent %+v, want %+v", got, c.want)
			}
		})
	}
}
