// Package awsauth is who may call the AWS endpoint: the access key a
// home's daemon makes for itself, and the check of each request's
// Signature Version 4 against it.
package awsauth

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/google/renameio/v2"
)

// Credentials is one access key, as AWS issues them.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
}

// NewCredentials makes a random key shaped like an IAM user's: "AKIA" and
// 16 base32 characters, and a 40-character secret.
func NewCredentials() Credentials {
	id := make([]byte, 10)
	secret := make([]byte, 30)
	_, _ = rand.Read(id) // crypto/rand.Read never fails
	_, _ = rand.Read(secret)
	return Credentials{
		AccessKeyID:     "AKIA" + base32.StdEncoding.EncodeToString(id),
		SecretAccessKey: base64.StdEncoding.EncodeToString(secret),
	}
}

// profile is the section of the credentials file: the file is an AWS
// shared credentials file, so AWS_SHARED_CREDENTIALS_FILE may name it.
const profile = "default"

// LoadOrCreate reads the credentials file at path, making it with a new
// key first when there is none. The file is mode 0640 and given to group
// gid (-1: left as made), so the members of vmfleet's group read it as
// they reach the API socket.
func LoadOrCreate(path string, gid int) (Credentials, error) {
	c, err := Load(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return c, err
	}
	c = NewCredentials()
	var b bytes.Buffer
	fmt.Fprintf(&b, "[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n", profile, c.AccessKeyID, c.SecretAccessKey)
	// Whole or not at all: a crash must not leave a key without its secret.
	pf, err := renameio.NewPendingFile(path, renameio.WithStaticPermissions(0o640))
	if err != nil {
		return Credentials{}, fmt.Errorf("write the AWS credentials %s: %w", path, err)
	}
	defer pf.Cleanup()
	if gid >= 0 {
		if err := pf.Chown(-1, gid); err != nil {
			return Credentials{}, fmt.Errorf("give the AWS credentials %s to their group: %w", path, err)
		}
	}
	if _, err := pf.Write(b.Bytes()); err != nil {
		return Credentials{}, fmt.Errorf("write the AWS credentials %s: %w", path, err)
	}
	if err := pf.CloseAtomicallyReplace(); err != nil {
		return Credentials{}, fmt.Errorf("write the AWS credentials %s: %w", path, err)
	}
	return c, nil
}

// Load reads the credentials file at path.
func Load(path string) (Credentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Credentials{}, fmt.Errorf("read the AWS credentials: %w", err)
	}
	var c Credentials
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "aws_access_key_id":
			c.AccessKeyID = strings.TrimSpace(v)
		case "aws_secret_access_key":
			c.SecretAccessKey = strings.TrimSpace(v)
		}
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return Credentials{}, fmt.Errorf("read the AWS credentials: %s has no aws_access_key_id or aws_secret_access_key; remove it and restart the daemon to make a new key", path)
	}
	return c, nil
}
