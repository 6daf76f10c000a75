package imds

import "fmt"

// The values of an instance's metadata options, as EC2 spells them.
const (
	EndpointEnabled  = "enabled"
	EndpointDisabled = "disabled"
	TokensOptional   = "optional"
	TokensRequired   = "required"
)

// MetadataOptions say how an instance's metadata service answers, as a
// launch template's MetadataOptions do: HTTPEndpoint "disabled" answers
// every request 403, HTTPTokens "required" answers a request without an
// IMDSv2 session token 401. Empty fields are EC2's defaults (enabled,
// optional).
type MetadataOptions struct {
	HTTPEndpoint string `json:"http_endpoint,omitempty"`
	HTTPTokens   string `json:"http_tokens,omitempty"`
}

// DefaultMetadataOptions are EC2's defaults, spelled out.
func DefaultMetadataOptions() MetadataOptions {
	return MetadataOptions{HTTPEndpoint: EndpointEnabled, HTTPTokens: TokensOptional}
}

// CheckEndpoint says what is wrong with an http_endpoint value.
func CheckEndpoint(v string) error {
	if v != EndpointEnabled && v != EndpointDisabled {
		return fmt.Errorf("http_endpoint %q is not %s or %s", v, EndpointEnabled, EndpointDisabled)
	}
	return nil
}

// CheckTokens says what is wrong with an http_tokens value.
func CheckTokens(v string) error {
	if v != TokensOptional && v != TokensRequired {
		return fmt.Errorf("http_tokens %q is not %s or %s", v, TokensOptional, TokensRequired)
	}
	return nil
}

func (o MetadataOptions) disabled() bool       { return o.HTTPEndpoint == EndpointDisabled }
func (o MetadataOptions) tokensRequired() bool { return o.HTTPTokens == TokensRequired }
