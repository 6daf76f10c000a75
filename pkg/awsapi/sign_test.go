package awsapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/vmfleet/vmfleet/pkg/awsauth"
)

// sign signs r, whose body is body, for service with the home's key.
func sign(t *testing.T, r *http.Request, body, service string) {
	t.Helper()
	signWith(t, r, body, service, nil)
}

// signWith signs r with c, or with the home's key when c is nil.
func signWith(t *testing.T, r *http.Request, body, service string, c *awsauth.Credentials) {
	t.Helper()
	if c == nil {
		c = &key
	}
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
}
