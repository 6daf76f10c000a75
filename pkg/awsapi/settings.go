package awsapi

import (
	"fmt"
	"regexp"
)

// The endpoint's defaults: LocalStack's port, so that local-AWS
// configurations already written work; AWS's first region; LocalStack's
// account.
const (
	DefaultListen  = "127.0.0.1:4566"
	DefaultRegion  = "us-east-1"
	DefaultAccount = "000000000000"
)

// Who may call: requests signed with the home's key, or with any key.
const (
	CredentialsHome = "home"
	CredentialsAny  = "any"
)

var (
	regionPattern  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
)

// CheckRegion says what is wrong with a region name.
func CheckRegion(r string) error {
	if !regionPattern.MatchString(r) {
		return fmt.Errorf("region %q is not a region name; give one like %s or eu-west-1", r, DefaultRegion)
	}
	return nil
}

// CheckAccount says what is wrong with an account id.
func CheckAccount(a string) error {
	if !accountPattern.MatchString(a) {
		return fmt.Errorf("account %q is not an AWS account id; give 12 digits, like %s", a, DefaultAccount)
	}
	return nil
}

// CheckCredentials says what is wrong with a credentials mode.
func CheckCredentials(mode string) error {
	if mode != CredentialsHome && mode != CredentialsAny {
		return fmt.Errorf("credentials %q: use %s (requests signed with this home's key) or %s (any key, as LocalStack)", mode, CredentialsHome, CredentialsAny)
	}
	return nil
}
