package instance

import (
	"fmt"
	"net"

	"github.com/vmfleet/vmfleet/pkg/guestconfig"
	"github.com/vmfleet/vmfleet/pkg/imds"
)

// Where every instance of this host is, as EC2 names a placement: one
// region with one zone, the machine itself.
const (
	Region           = "vmfleet-local"
	AvailabilityZone = Region + "-1a"
)

// InstanceType names an instance's shape as EC2 names its types,
// family.size: "vmf.0.5cpu-128mib".
func InstanceType(cpu float64, memoryBytes int64) string {
	return fmt.Sprintf("vmf.%gcpu-%dmib", cpu, memoryBytes>>20)
}

// identity is what the guest's metadata service says about the instance;
// tags are named as an Auto Scaling group tags its instances.
func identity(inst *Instance, gc *guestconfig.Config, o Options) imds.Metadata {
	ip, _, _ := net.ParseCIDR(gc.Network.Address)
	tags := map[string]string{"vmfleet:service": inst.Service, "Name": gc.Hostname}
	if inst.Fleet != "" {
		tags["vmfleet:fleet"] = inst.Fleet
		tags["aws:autoscaling:groupName"] = inst.Fleet + "-" + inst.Service
	}
	typ := o.InstanceType
	if typ == "" {
		typ = InstanceType(o.CPU, o.MemoryBytes)
	}
	return imds.Metadata{
		InstanceID: inst.ID, ImageID: inst.ImageDigest, InstanceType: typ,
		LocalIPv4: ip.String(), Hostname: gc.Hostname, AvailabilityZone: AvailabilityZone, Region: Region,
		Tags: tags, UserData: o.UserData, LaunchTime: inst.Created, Options: o.MetadataOptions,
	}
}
