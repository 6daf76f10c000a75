package awsauth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var (
	home        = Credentials{AccessKeyID: "AKIAHOMEKEY000000000", SecretAccessKey: "home-secret"}
	signAt      = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	form        = "Action=GetCallerIdentity&Version=2011-06-15"
	newVerifier = func() *Verifier {
		return &Verifier{Credentials: home, Region: "us-east-1", Now: func() time.Time { return signAt.Add(time.Minute) }}
	}
)

// signed is a request as an SDK sends it: form body, signed for service
// and region with c at signAt.
func signed(t *testing.T, c Credentials, service, region, body string) *http.Request {
	t.Helper()
	r, err := http.NewRequest("POST", "http://127.0.0.1:4566/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	r.Header.Set("User-Agent", "aws-cli/1.0 test")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), service, region, signAt); err != nil {
		t.Fatal(err)
	}
	return r
}

func verify(v *Verifier, r *http.Request, body string) (Scope, error) {
	return v.Verify(r, []byte(body))
}

func code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestARequestSignedWithTheHomesKeyIsAcceptedWithItsScope(t *testing.T) {
	sc, err := verify(newVerifier(), signed(t, home, "sts", "us-east-1", form), form)
	if err != nil {
		t.Fatal(err)
	}
	if sc != (Scope{AccessKeyID: home.AccessKeyID, Region: "us-east-1", Service: "sts"}) {
		t.Fatalf("scope %+v", sc)
	}
}

func TestRequestsTheHomesKeyDidNotSignAreRefusedWithAWSCodes(t *testing.T) {
	other := Credentials{AccessKeyID: "AKIAOTHERKEY00000000", SecretAccessKey: "x"}
	stolenID := Credentials{AccessKeyID: home.AccessKeyID, SecretAccessKey: "guessed"}
	unsigned, _ := http.NewRequest("POST", "http://127.0.0.1:4566/", strings.NewReader(form))
	late := newVerifier()
	late.Now = func() time.Time { return signAt.Add(MaxSkew + time.Minute) }
	garbled := signed(t, home, "sts", "us-east-1", form)
	garbled.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=nonsense")
	for _, tc := range []struct {
		name   string
		v      *Verifier
		r      *http.Request
		body   string
		code   string
		status int
	}{
		{"unsigned", newVerifier(), unsigned, form, "MissingAuthenticationToken", 403},
		{"another key", newVerifier(), signed(t, other, "sts", "us-east-1", form), form, "InvalidClientTokenId", 403},
		{"the key id with another secret", newVerifier(), signed(t, stolenID, "sts", "us-east-1", form), form, "SignatureDoesNotMatch", 403},
		{"a body changed after signing", newVerifier(), signed(t, home, "sts", "us-east-1", form), form + "&Extra=1", "SignatureDoesNotMatch", 403},
		{"another region", newVerifier(), signed(t, home, "sts", "eu-west-1", form), form, "SignatureDoesNotMatch", 403},
		{"signed too long ago", late, signed(t, home, "sts", "us-east-1", form), form, "SignatureDoesNotMatch", 403},
		{"a malformed header", newVerifier(), garbled, form, "IncompleteSignature", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify(tc.v, tc.r, tc.body)
			var e *Error
			if !errors.As(err, &e) || e.Code != tc.code || e.Status != tc.status {
				t.Fatalf("got %v, want %s (%d)", err, tc.code, tc.status)
			}
		})
	}
}

func TestAnyCredentialsAcceptsAnotherKeyButStillReadsTheScope(t *testing.T) {
	v := newVerifier()
	v.AnyCredentials = true
	other := Credentials{AccessKeyID: "AKIAOTHERKEY00000000", SecretAccessKey: "x"}
	sc, err := verify(v, signed(t, other, "ec2", "us-east-1", form), form)
	if err != nil || sc.Service != "ec2" || sc.AccessKeyID != other.AccessKeyID {
		t.Fatalf("scope %+v, err %v", sc, err)
	}
	unsigned, _ := http.NewRequest("POST", "http://127.0.0.1:4566/", strings.NewReader(form))
	if _, err := verify(v, unsigned, form); code(err) != "MissingAuthenticationToken" {
		t.Fatalf("unsigned: %v", err)
	}
}

func TestTheCredentialsFileIsMadeOnceAndReadBackByItsGroup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aws-credentials")
	c, err := LoadOrCreate(path, -1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.AccessKeyID, "AKIA") || len(c.AccessKeyID) != 20 || len(c.SecretAccessKey) != 40 {
		t.Fatalf("key %q secret of %d characters", c.AccessKeyID, len(c.SecretAccessKey))
	}
	again, err := LoadOrCreate(path, -1)
	if err != nil || again != c {
		t.Fatalf("second load: %+v, %v", again, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}
	b, _ := os.ReadFile(path)
	if !bytes.HasPrefix(b, []byte("[default]\n")) {
		t.Fatalf("not a shared credentials file:\n%s", b)
	}
	if err := os.WriteFile(path, []byte("[default]\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "remove it") {
		t.Fatalf("an empty file: %v", err)
	}
}
