package hypervisor

import "testing"

func TestSetMetadataHandsLibvirtTheElementWithoutItsPrefix(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{testMetadata, `<instance><id>i-0123456789ab</id></instance>`},
		{`<vmfleet:instance xmlns:vmfleet="` + MetadataNamespace + `"><vmfleet:image><vmfleet:name>a&amp;b</vmfleet:name></vmfleet:image><vmfleet:pool>Hibernated</vmfleet:pool></vmfleet:instance>`,
			`<instance><image><name>a&amp;b</name></image><pool>Hibernated</pool></instance>`},
		{`<instance><id>x</id></instance>`, `<instance><id>x</id></instance>`},
	} {
		got, err := bareElement(c.in)
		if err != nil || got != c.want {
			t.Errorf("bareElement(%s) = %s, %v; want %s", c.in, got, err, c.want)
		}
	}
	if _, err := bareElement(`<vmfleet:instance><vmfleet:id>`); err == nil {
		t.Error("an unclosed element was taken")
	}
}
