package fleetfile

import "github.com/vmfleet/vmfleet/pkg/imds"

// metadataOptions reads a service's metadata_options, as a launch
// template's MetadataOptions: what is not given is EC2's default.
func (p *parser) metadataOptions(e entry, at string) imds.MetadataOptions {
	o := imds.DefaultMetadataOptions()
	fields, ok := p.fields(e, at, "{http_tokens: required}", []string{"http_endpoint", "http_tokens"}, nil)
	if !ok {
		return o
	}
	for _, f := range []struct {
		key, example string
		dst          *string
		check        func(string) error
	}{
		{"http_endpoint", imds.EndpointDisabled, &o.HTTPEndpoint, imds.CheckEndpoint},
		{"http_tokens", imds.TokensRequired, &o.HTTPTokens, imds.CheckTokens},
	} {
		fe, ok := fields[f.key]
		if !ok {
			continue
		}
		v, ok := p.str(fe, at+"."+f.key, f.example)
		if !ok {
			continue
		}
		if err := f.check(v); err != nil {
			p.fail(fe.val, at+"."+f.key, "write "+f.key+": "+f.example+", or leave it out for EC2's default", "%v", err)
			continue
		}
		*f.dst = v
	}
	return o
}
