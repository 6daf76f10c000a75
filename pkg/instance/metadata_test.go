package instance

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

func TestMetadataRoundTripsEveryField(t *testing.T) {
	in := metadata{
		ID: "i-0123456789ab", Service: "web", Fleet: "prod", ImageName: "web", ImageDigest: "abc123",
		HostPort: 40123, GuestPort: 8080, Template: "lt-web/3",
		Reach: Reach{HostPorts: []int{41000, 5432}, Internet: true},
		// XML-special characters in a path must survive.
		Dir:      "/srv/a&b <c>/i-0123456789ab",
		Created:  time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
		Snapshot: "0123456789abcdef", CPUQuota: 50000, Pool: "hibernated", Protected: true, Spare: true,
		InstanceType: "t3.micro", Tags: []Tag{{Key: "Name", Value: "a&b <c>"}, {Key: "env", Value: ""}}, Standby: true,
		Lifecycle: &LifecycleWait{Transition: "autoscaling:EC2_INSTANCE_LAUNCHING", Actions: []LifecycleAction{
			{Hook: "setup", Token: "3f1c", Deadline: time.Date(2026, 3, 4, 5, 9, 7, 0, time.UTC), Global: time.Date(2026, 3, 6, 5, 6, 7, 0, time.UTC)},
			{Hook: "b&c", Token: "9a2e", Deadline: time.Date(2026, 3, 4, 5, 8, 7, 0, time.UTC), Global: time.Date(2026, 3, 6, 5, 6, 7, 0, time.UTC)}}},
	}
	everyFieldSet(t, in, "XMLName", "NS")
	x, err := in.marshal()
	if err != nil {
		t.Fatal(err)
	}
	out, err := parseMetadata(x)
	if err != nil {
		t.Fatalf("parse %s: %v", x, err)
	}
	in.NS = ""
	if !reflect.DeepEqual(*out, in) {
		t.Errorf("round trip\n%+v\nwant\n%+v", *out, in)
	}
}

// What List reads from a domain is what SetPool writes back: every field
// of the metadata survives the trip through an Instance.
func TestAnInstanceCarriesEveryFieldOfItsMetadata(t *testing.T) {
	md := metadata{
		ID: "i-0123456789ab", Service: "web", Fleet: "prod", ImageName: "web-img", ImageDigest: "abc123",
		HostPort: 40123, GuestPort: 8080, Template: "lt-web/3", Dir: "/srv/i-0123456789ab",
		Created: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), Reach: Reach{HostPorts: []int{5432}, Internet: true},
		Snapshot: "0123456789abcdef", CPUQuota: 50000, Pool: "running", Protected: true,
		InstanceType: "c5.large", Tags: []Tag{{Key: "Name", Value: "api"}}, Standby: true,
		Lifecycle: &LifecycleWait{Transition: "autoscaling:EC2_INSTANCE_TERMINATING", Actions: []LifecycleAction{{Hook: "drain", Token: "t"}}},
	}
	// Spare instances are never listed, so no Instance carries it.
	everyFieldSet(t, md, "XMLName", "NS", "Spare")
	inst := instanceOf(hypervisor.Domain{Name: "vmfleet-prod-web-i-0123456789ab", State: hypervisor.Running}, &md)
	if got := metadataOf(inst); !reflect.DeepEqual(got, md) {
		t.Errorf("through an instance\n%+v\nwant\n%+v", got, md)
	}
}

// everyFieldSet fails unless every field of md but those named is set:
// a field added to the metadata must be added to the round trips above.
func everyFieldSet(t *testing.T, md metadata, except ...string) {
	t.Helper()
	v := reflect.ValueOf(md)
	for i := range v.NumField() {
		if name := v.Type().Field(i).Name; v.Field(i).IsZero() && !slices.Contains(except, name) {
			t.Errorf("metadata field %s is not set in this test: set it, so the round trip covers it", name)
		}
	}
}

func TestMetadataIsInTheVmfleetNamespace(t *testing.T) {
	// Domains() fetches the element by namespace; any other is not found.
	x, err := (&metadata{ID: "i-1"}).marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(x, `xmlns:vmfleet="`+hypervisor.MetadataNamespace+`"`) || !strings.HasPrefix(x, "<vmfleet:instance") {
		t.Errorf("metadata %s is not a vmfleet:instance in %s", x, hypervisor.MetadataNamespace)
	}
}

func TestParseMetadataReadsWhateverPrefixLibvirtGivesBack(t *testing.T) {
	for _, x := range []string{
		`<instance xmlns="` + hypervisor.MetadataNamespace + `"><id>i-1</id><service>web</service><port><host>5</host><guest>6</guest></port></instance>`,
		`<other:instance xmlns:other="` + hypervisor.MetadataNamespace + `"><other:id>i-1</other:id><other:service>web</other:service><other:port><other:host>5</other:host><other:guest>6</other:guest></other:port></other:instance>`,
	} {
		md, err := parseMetadata(x)
		if err != nil {
			t.Fatalf("parse %s: %v", x, err)
		}
		if md.ID != "i-1" || md.Service != "web" || md.HostPort != 5 || md.GuestPort != 6 {
			t.Errorf("parse %s = %+v", x, md)
		}
	}
}

func TestParseMetadataRejectsElementsWithoutAnID(t *testing.T) {
	for _, x := range []string{"", "<instance", `<instance xmlns="` + hypervisor.MetadataNamespace + `"><service>web</service></instance>`} {
		if md, err := parseMetadata(x); err == nil {
			t.Errorf("parse %q = %+v, want an error", x, md)
		}
	}
}
