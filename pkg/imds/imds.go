// Package imds serves a guest's own metadata the way EC2's instance
// metadata service does, so tools and SDKs written for EC2 (aws-sdk-go-v2's
// imds client, cloud-init's EC2 source, curl scripts) work inside a vmfleet
// guest unchanged. It is only the HTTP handler; the guest's init listens on
// 169.254.169.254 in a network namespace of its own (so every port of the
// guest's is the service's) and passes requests here.
package imds

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Metadata is what a guest learns about itself. Empty fields are not
// served (404), as EC2 omits what an instance lacks; empty tag values are.
type Metadata struct {
	InstanceID       string            // "i-1b90f4dbddeb"
	ImageID          string            // image digest, served as ami-id
	InstanceType     string            // shape, e.g. "vmf.c0.5-m128"
	LocalIPv4        string            // "10.0.2.15"
	Hostname         string            // served as hostname and local-hostname
	AvailabilityZone string            // "local-1a"
	Region           string            // "local-1"
	Tags             map[string]string // instance tags, under tags/instance/
	UserData         []byte            // nil: /latest/user-data is 404, as on EC2
	LaunchTime       time.Time         // pendingTime of the identity document
	// Options are how the service answers (not served).
	Options MetadataOptions
}

// Options tune the handler; the zero value behaves like EC2.
type Options struct {
	// Now tells the time for token expiry; nil means time.Now.
	Now func() time.Time
	// MaxTokens bounds the live tokens kept, so a guest cannot exhaust
	// init's memory by asking for tokens; 0 means DefaultMaxTokens.
	MaxTokens int
}

// DefaultMaxTokens is far more than the few token-holding clients of one
// guest need, and a few tens of kilobytes at most.
const DefaultMaxTokens = 1000

// EC2's limits on a token's lifetime, in the whole seconds it is asked in.
const (
	minTokenTTLSeconds = 1
	maxTokenTTLSeconds = 6 * 60 * 60
)

// The token endpoint and headers as EC2 spells them (net/http matches
// header names in any case).
const (
	tokenPath      = "/latest/api/token"
	tokenHeader    = "X-aws-ec2-metadata-token"
	tokenTTLHeader = "X-aws-ec2-metadata-token-ttl-seconds"
)

type handler struct {
	tree   *node
	tokens *tokenStore
	opts   MetadataOptions
}

// NewHandler serves md. It fails only on a tag key that cannot be a path
// segment of tags/instance/.
func NewHandler(md Metadata, opts Options) (http.Handler, error) {
	tree, err := newTree(md)
	if err != nil {
		return nil, fmt.Errorf("build instance metadata: %w", err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	maxTokens := opts.MaxTokens
	if maxTokens <= 0 {
		maxTokens = DefaultMaxTokens
	}
	return &handler{tree: tree, tokens: newTokenStore(now, maxTokens), opts: md.Options}, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.opts.disabled() {
		http.Error(w, "imds: the instance metadata service is turned off for this instance (metadata_options.http_endpoint: disabled)", http.StatusForbidden)
		return
	}
	if r.URL.Path == tokenPath {
		h.serveToken(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, fmt.Sprintf("imds: method %s not allowed; metadata is read with GET or HEAD", r.Method), http.StatusMethodNotAllowed)
		return
	}
	// A request without a token is IMDSv1, which EC2 allows unless the
	// instance requires tokens; one that carries a token must carry a
	// good one.
	tokens, ok := r.Header[http.CanonicalHeaderKey(tokenHeader)]
	switch {
	case ok && !h.tokens.valid(tokens[0]):
		http.Error(w, "imds: token is invalid or expired; get a new one with PUT "+tokenPath, http.StatusUnauthorized)
		return
	case !ok && h.opts.tokensRequired():
		http.Error(w, "imds: this instance requires a session token (IMDSv2); get one with PUT "+tokenPath, http.StatusUnauthorized)
		return
	}
	n := h.tree.find(r.URL.Path)
	if n == nil {
		http.Error(w, "imds: no metadata at "+r.URL.Path, http.StatusNotFound)
		return
	}
	write(w, n.contentType, n.body)
}

func (h *handler) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		w.Header().Set("Allow", http.MethodPut)
		http.Error(w, fmt.Sprintf("imds: method %s not allowed; a token is requested with PUT", r.Method), http.StatusMethodNotAllowed)
		return
	}
	// A forwarded request came through a proxy or NAT in the guest, not
	// from the guest itself; EC2 refuses it so a misconfigured proxy cannot
	// hand tokens to the network.
	if _, forwarded := r.Header["X-Forwarded-For"]; forwarded {
		http.Error(w, "imds: token requests through a proxy (X-Forwarded-For) are refused", http.StatusForbidden)
		return
	}
	ttl, err := parseTTL(r.Header.Values(tokenTTLHeader))
	if err != nil {
		http.Error(w, "imds: "+err.Error(), http.StatusBadRequest)
		return
	}
	token := h.tokens.issue(ttl)
	w.Header().Set(tokenTTLHeader, strconv.Itoa(int(ttl/time.Second)))
	write(w, "text/plain", []byte(token))
}

// parseTTL reads the requested lifetime, whole seconds as EC2 takes it.
func parseTTL(values []string) (time.Duration, error) {
	if len(values) == 0 {
		return 0, fmt.Errorf("header %s is missing; set it to the token's lifetime in seconds, %d to %d",
			tokenTTLHeader, minTokenTTLSeconds, maxTokenTTLSeconds)
	}
	secs, err := strconv.Atoi(values[0])
	if err != nil || secs < minTokenTTLSeconds || secs > maxTokenTTLSeconds {
		return 0, fmt.Errorf("header %s is %q; it must be whole seconds from %d to %d",
			tokenTTLHeader, values[0], minTokenTTLSeconds, maxTokenTTLSeconds)
	}
	return time.Duration(secs) * time.Second, nil
}

// write sends body with its length, so HEAD answers it too (net/http drops
// the body of a HEAD response itself).
func write(w http.ResponseWriter, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body) // the client went away; nothing to tell it
}
