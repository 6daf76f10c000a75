package instance

import (
	"testing"

	"github.com/vmfleet/vmfleet/pkg/guestconfig"
)

// IMDS tells the type RunInstances gave, and the shape of the caps
// otherwise.
func TestTheMetadataServiceTellsTheInstanceType(t *testing.T) {
	gc := &guestconfig.Config{Hostname: "web-1", Network: guestconfig.Network{Address: "10.0.2.15/24"}}
	inst := &Instance{ID: "i-0123456789ab", Service: "web"}
	if got := identity(inst, gc, Options{CPU: 0.5, MemoryBytes: 128 << 20}).InstanceType; got != "vmf.0.5cpu-128mib" {
		t.Errorf("without a type: %q, want vmf.0.5cpu-128mib", got)
	}
	if got := identity(inst, gc, Options{CPU: 2, MemoryBytes: 1 << 30, InstanceType: "t3.micro"}).InstanceType; got != "t3.micro" {
		t.Errorf("run as t3.micro: %q", got)
	}
}
