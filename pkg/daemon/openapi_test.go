package daemon

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vmfleet/vmfleet/pkg/api"
)

type openAPI struct {
	Paths      map[string]map[string]any `yaml:"paths"`
	Components struct {
		Schemas map[string]struct {
			Properties map[string]any `yaml:"properties"`
		} `yaml:"schemas"`
	} `yaml:"components"`
}

func loadOpenAPI(t *testing.T) openAPI {
	t.Helper()
	var doc openAPI
	if err := yaml.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	return doc
}

// The document lists exactly the operations the server serves.
func TestTheOpenAPIDocumentListsEveryRouteAndNoOther(t *testing.T) {
	doc := loadOpenAPI(t)
	var documented, served []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	for _, r := range routes(func() {}) {
		served = append(served, r.method+" "+r.path)
	}
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Errorf("openapi.yaml and the server disagree:\ndocumented %v\nserved     %v", documented, served)
	}
}

// Each schema has exactly the JSON fields of the type the server sends.
func TestTheOpenAPISchemasMatchTheAPITypes(t *testing.T) {
	doc := loadOpenAPI(t)
	for name, v := range map[string]any{
		"Error": api.Error{}, "Info": api.Info{}, "Launch": api.Launch{}, "Snapshot": api.Snapshot{}, "Spare": api.Spare{}, "ApplyRequest": api.ApplyRequest{}, "ApplyResult": api.ApplyResult{},
		"Change": api.Change{}, "ScaleRequest": api.ScaleRequest{}, "FleetSummary": api.FleetSummary{},
		"ServiceSummary": api.ServiceSummary{}, "Fleet": api.Fleet{}, "Service": api.Service{}, "Instance": api.Instance{},
		"InstanceRow": api.InstanceRow{}, "Event": api.Event{}, "RunRequest": api.RunRequest{}, "BakeRequest": api.BakeRequest{},
		"BakeResult": api.BakeResult{}, "Image": api.Image{}, "Stats": api.Stats{}, "Metrics": api.Metrics{},
		"ServiceMetrics": api.ServiceMetrics{}, "InstanceMetrics": api.InstanceMetrics{}, "Series": api.Series{}, "Point": api.Point{},
		"ProtectRequest": api.ProtectRequest{}, "WarmPool": api.WarmPool{}, "AWSEndpoint": api.AWSEndpoint{},
		"FaultRequest": api.FaultRequest{}, "Fault": api.Fault{}, "Dashboard": api.Dashboard{},
	} {
		schema, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("openapi.yaml has no schema %s", name)
			continue
		}
		var want, got []string
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			tag, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			if tag != "" && tag != "-" {
				want = append(want, tag)
			}
		}
		for p := range schema.Properties {
			got = append(got, p)
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			t.Errorf("schema %s: properties %v, the Go type sends %v", name, got, want)
		}
	}
	if len(doc.Components.Schemas) != 32 {
		t.Errorf("openapi.yaml has %d schemas; a new one needs a line in this test", len(doc.Components.Schemas))
	}
}
