package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// model is the part of a botocore service-2.json that the codecs need.
type model struct {
	Metadata   metadata              `json:"metadata"`
	Operations map[string]*operation `json:"operations"`
	Shapes     map[string]*shape     `json:"shapes"`
}

type metadata struct {
	APIVersion   string `json:"apiVersion"`
	Protocol     string `json:"protocol"`
	XMLNamespace string `json:"xmlNamespace"`
	UID          string `json:"uid"`
	TargetPrefix string `json:"targetPrefix"`
	// EndpointPrefix is the service's name in its host and, unless
	// SigningName says otherwise, in its requests' credential scope.
	EndpointPrefix string `json:"endpointPrefix"`
	SigningName    string `json:"signingName"`
	// Protocols is every protocol the service speaks, the preferred first
	// (CloudWatch: smithy-rpc-v2-cbor, json, query); Protocol is the first.
	Protocols []string `json:"protocols"`
	// AWSQueryCompatible is there (an empty object) on a service that
	// moved off the query protocol and still answers with its codes.
	AWSQueryCompatible *struct{} `json:"awsQueryCompatible"`
	// ServiceID is the service's SDK id ("CloudWatch", "Auto Scaling").
	ServiceID string `json:"serviceId"`
}

type operation struct {
	Name string `json:"name"`
	HTTP struct {
		Method     string `json:"method"`
		RequestURI string `json:"requestUri"`
	} `json:"http"`
	Input            *shapeRef  `json:"input"`
	Output           *shapeRef  `json:"output"`
	Errors           []shapeRef `json:"errors"`
	DocumentationURL string     `json:"documentationUrl"`
}

// shapeRef is a reference to a shape, from an operation, a structure
// member, a list member or a map key or value, with the serialisation
// traits botocore allows on a reference.
type shapeRef struct {
	Shape         string `json:"shape"`
	LocationName  string `json:"locationName"`
	QueryName     string `json:"queryName"`
	Flattened     bool   `json:"flattened"`
	ResultWrapper string `json:"resultWrapper"`
}

type shape struct {
	Type         string     `json:"type"`
	Members      members    `json:"members"`
	Required     []string   `json:"required"`
	Member       *shapeRef  `json:"member"`
	Key          *shapeRef  `json:"key"`
	Value        *shapeRef  `json:"value"`
	LocationName string     `json:"locationName"`
	Flattened    bool       `json:"flattened"`
	XMLOrder     []string   `json:"xmlOrder"`
	Exception    bool       `json:"exception"`
	Error        *errorInfo `json:"error"`
}

type errorInfo struct {
	Code           string `json:"code"`
	HTTPStatusCode int    `json:"httpStatusCode"`
	SenderFault    bool   `json:"senderFault"`
}

// members keeps a structure's members in the model's order: Go maps lose
// it, and the generated structs and XML follow it (AWS writes elements in
// model order, and the output must be deterministic).
type members struct {
	names []string
	refs  map[string]*shapeRef
}

func (m *members) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // the opening brace
		return fmt.Errorf("reading members: %w", err)
	}
	m.refs = map[string]*shapeRef{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("reading a member name: %w", err)
		}
		name, _ := tok.(string)
		ref := new(shapeRef)
		if err := dec.Decode(ref); err != nil {
			return fmt.Errorf("reading member %s: %w", name, err)
		}
		m.names = append(m.names, name)
		m.refs[name] = ref
	}
	return nil
}

// ordered is the structure's members in the order their XML is written:
// the model's xmlOrder when it has one, else declaration order.
func (s *shape) ordered() []string {
	if len(s.XMLOrder) == len(s.Members.names) {
		return s.XMLOrder
	}
	return s.Members.names
}

func (s *shape) isRequired(member string) bool {
	for _, r := range s.Required {
		if r == member {
			return true
		}
	}
	return false
}

// loadModel reads a service-2.json, gzipped (as botocore ships it) or not.
func loadModel(path string) (*model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening model: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if gz, err := gzip.NewReader(f); err == nil {
		r = gz
	} else if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewinding model %s: %w", path, err)
	}
	m := new(model)
	if err := json.NewDecoder(r).Decode(m); err != nil {
		return nil, fmt.Errorf("parsing model %s: %w", path, err)
	}
	return m, nil
}
