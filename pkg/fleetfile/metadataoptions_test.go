package fleetfile_test

import (
	"testing"

	"github.com/vmfleet/vmfleet/pkg/imds"
)

func TestMetadataOptionsDefaultToEC2sAndTakeALaunchTemplatesValues(t *testing.T) {
	if got := mustParse(t, "/srv/shop/fleet.yaml", webService).Service("web").MetadataOptions; got != imds.DefaultMetadataOptions() {
		t.Errorf("without metadata_options: %+v, want EC2's defaults", got)
	}
	f := mustParse(t, "/srv/shop/fleet.yaml", webService+`    metadata_options: {http_tokens: required}
`)
	want := imds.MetadataOptions{HTTPEndpoint: imds.EndpointEnabled, HTTPTokens: imds.TokensRequired}
	if got := f.Service("web").MetadataOptions; got != want {
		t.Errorf("http_tokens: required gives %+v, want %+v", got, want)
	}
	f = mustParse(t, "/srv/shop/fleet.yaml", webService+`    metadata_options: {http_endpoint: disabled}
`)
	if got := f.Service("web").MetadataOptions.HTTPEndpoint; got != imds.EndpointDisabled {
		t.Errorf("http_endpoint: disabled gives %q", got)
	}
}

// metadataOptionsBadFiles are badFiles about a service's metadata_options.
func metadataOptionsBadFiles() []badFile {
	return []badFile{
		{name: "metadata_options as a string", yaml: webService + `    metadata_options: v2
`, line: 6, want: "services.web.metadata_options: got \"v2\", want a map; write it like {http_tokens: required}"},
		{name: "metadata options spelled by AWS", yaml: webService + `    metadata_options: {HttpTokens: required}
`, line: 6, want: `unknown key "HttpTokens"`},
		{name: "unknown http_tokens", yaml: webService + `    metadata_options: {http_tokens: v2}
`, line: 6, want: `services.web.metadata_options.http_tokens: http_tokens "v2" is not optional or required; write http_tokens: required`},
		{name: "unknown http_endpoint", yaml: webService + `    metadata_options: {http_endpoint: off}
`, line: 6, want: `services.web.metadata_options.http_endpoint: http_endpoint "off" is not enabled or disabled`},
	}
}
