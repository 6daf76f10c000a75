package awsauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Scope is what a request's signature says of it: who signed it, and the
// service and region it is meant for (its credential scope).
type Scope struct {
	AccessKeyID string
	Region      string
	Service     string
}

// Error is a request refused, as AWS refuses it: the code clients switch
// on and the HTTP status.
type Error struct {
	Code    string
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func refuse(code string, status int, format string, args ...any) *Error {
	return &Error{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

// MaxSkew is how far a request's signing time may be from now, as AWS
// allows.
const MaxSkew = 15 * time.Minute

// Verifier checks requests' Signature Version 4.
type Verifier struct {
	// Credentials is the one key requests must be signed with.
	Credentials Credentials
	// AnyCredentials accepts a request signed with any key, as LocalStack
	// and moto do: its scope is read, its signature not checked.
	AnyCredentials bool
	// Region is the one region served.
	Region string
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

const (
	algorithm  = "AWS4-HMAC-SHA256"
	dateFormat = "20060102T150405Z"
)

// Verify checks r, whose body has been read into body, and returns its
// scope, as far as it could be read; an error is an *Error.
func (v *Verifier) Verify(r *http.Request, body []byte) (Scope, error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return Scope{}, refuse("MissingAuthenticationToken", http.StatusForbidden, "Request is missing Authentication Token")
	}
	h, err := parseAuthorization(auth)
	if err != nil {
		return Scope{}, err
	}
	// The scope is returned with a refusal too: it says whose envelope the
	// refusal is written in.
	sc := Scope{AccessKeyID: h.accessKey, Region: h.region, Service: h.service}
	if h.region != v.Region {
		return sc, refuse("SignatureDoesNotMatch", http.StatusForbidden, "Credential should be scoped to a valid region, not '%s'. This endpoint serves '%s'.", h.region, v.Region)
	}
	if v.AnyCredentials {
		return sc, nil
	}
	if h.accessKey != v.Credentials.AccessKeyID {
		return sc, refuse("InvalidClientTokenId", http.StatusForbidden, "The security token included in the request is invalid.")
	}
	if r.Header.Get("X-Amz-Security-Token") != "" {
		return sc, refuse("InvalidClientTokenId", http.StatusForbidden, "The security token included in the request is invalid.")
	}
	stamp := r.Header.Get("X-Amz-Date")
	signed, err := time.Parse(dateFormat, stamp)
	if err != nil || !strings.HasPrefix(stamp, h.date) {
		return sc, refuse("IncompleteSignature", http.StatusBadRequest, "Authorization header requires a valid X-Amz-Date header matching the date of its credential scope.")
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if d := now().Sub(signed); d > MaxSkew || d < -MaxSkew {
		return sc, refuse("SignatureDoesNotMatch", http.StatusForbidden, "Signature expired: %s is now earlier than %s (%s - 15 min.)", stamp, now().UTC().Add(-MaxSkew).Format(dateFormat), now().UTC().Format(dateFormat))
	}
	want, err := v.sign(r, body, h, signed)
	if err != nil {
		return sc, err
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(h.signature)) != 1 {
		return sc, refuse("SignatureDoesNotMatch", http.StatusForbidden, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return sc, nil
}

// sign signs a copy of r that carries only the headers the client signed,
// with the home's key, and returns the signature. The SDK's signer does
// the canonicalising, so the rules are AWS's own code's.
func (v *Verifier) sign(r *http.Request, body []byte, h authorization, at time.Time) (string, error) {
	cp, err := http.NewRequestWithContext(r.Context(), r.Method, r.URL.String(), nil)
	if err != nil {
		return "", refuse("IncompleteSignature", http.StatusBadRequest, "the request URL cannot be signed: %v", err)
	}
	cp.URL = r.URL
	cp.Host = r.Host
	for _, name := range h.signedHeaders {
		switch name {
		case "host":
		case "content-length":
			cp.ContentLength = r.ContentLength
		default:
			for _, val := range r.Header.Values(name) {
				cp.Header.Add(name, val)
			}
		}
	}
	hash := r.Header.Get("X-Amz-Content-Sha256")
	if hash == "" {
		sum := sha256.Sum256(body)
		hash = hex.EncodeToString(sum[:])
	}
	creds := aws.Credentials{AccessKeyID: v.Credentials.AccessKeyID, SecretAccessKey: v.Credentials.SecretAccessKey}
	err = v4.NewSigner().SignHTTP(context.Background(), creds, cp, hash, h.service, h.region, at)
	if err != nil {
		return "", refuse("IncompleteSignature", http.StatusBadRequest, "the request cannot be signed: %v", err)
	}
	ours, err := parseAuthorization(cp.Header.Get("Authorization"))
	if err != nil {
		return "", err
	}
	// A header the client signed that the signer will not (User-Agent)
	// makes a different signed set: the signatures cannot agree.
	if strings.Join(ours.signedHeaders, ";") != strings.Join(h.signedHeaders, ";") {
		return "", refuse("SignatureDoesNotMatch", http.StatusForbidden, "The request signs the headers %s; sign %s instead.", strings.Join(h.signedHeaders, ";"), strings.Join(ours.signedHeaders, ";"))
	}
	return ours.signature, nil
}

// authorization is the parts of an Authorization header.
type authorization struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        string
}

// parseAuthorization reads "AWS4-HMAC-SHA256 Credential=AKID/20260102/
// us-east-1/ec2/aws4_request, SignedHeaders=a;b, Signature=hex".
func parseAuthorization(s string) (authorization, error) {
	malformed := func(why string) error {
		return refuse("IncompleteSignature", http.StatusBadRequest, "Authorization header is malformed: %s.", why)
	}
	alg, rest, ok := strings.Cut(s, " ")
	if !ok || alg != algorithm {
		return authorization{}, malformed("the only algorithm accepted is " + algorithm)
	}
	var a authorization
	var cred string
	for _, part := range strings.Split(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			cred = val
		case "SignedHeaders":
			a.signedHeaders = strings.Split(val, ";")
		case "Signature":
			a.signature = val
		}
	}
	fields := strings.Split(cred, "/")
	if len(fields) != 5 || fields[4] != "aws4_request" {
		return authorization{}, malformed("Credential must be KEY/DATE/REGION/SERVICE/aws4_request")
	}
	a.accessKey, a.date, a.region, a.service = fields[0], fields[1], fields[2], fields[3]
	if len(a.signedHeaders) == 0 || a.signature == "" {
		return authorization{}, malformed("SignedHeaders and Signature are required")
	}
	return a, nil
}
