package instance

import (
	"encoding/xml"
	"fmt"
	"time"

	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

// metadata is what an instance's libvirt domain remembers about it, so
// libvirt stays the one source of truth (no second database to drift).
type metadata struct {
	XMLName     xml.Name  `xml:"vmfleet:instance"`
	NS          string    `xml:"xmlns:vmfleet,attr"`
	ID          string    `xml:"vmfleet:id"`
	Service     string    `xml:"vmfleet:service"`
	Fleet       string    `xml:"vmfleet:fleet,omitempty"`
	ImageName   string    `xml:"vmfleet:image>vmfleet:name"`
	ImageDigest string    `xml:"vmfleet:image>vmfleet:digest"`
	HostPort    int       `xml:"vmfleet:port>vmfleet:host"`
	GuestPort   int       `xml:"vmfleet:port>vmfleet:guest"`
	Template    string    `xml:"vmfleet:template,omitempty"`
	Dir         string    `xml:"vmfleet:dir"`
	Created     time.Time `xml:"vmfleet:created"`
	Reach       Reach     `xml:"vmfleet:reach"`
	// Snapshot is the key of the snapshot the instance was restored
	// from; empty when it booted.
	Snapshot string `xml:"vmfleet:snapshot,omitempty"`
	// CPUQuota is the instance's cap, which a burst returns to.
	CPUQuota int64 `xml:"vmfleet:cpu-quota,omitempty"`
	// Pool is the warm pool state the instance waits in; empty when it
	// is in its group.
	Pool string `xml:"vmfleet:pool,omitempty"`
	// Protected is the instance's scale-in protection
	// (SetInstanceProtection): an instance's own setting, as on EC2.
	Protected bool `xml:"vmfleet:protected-from-scale-in,omitempty"`
	// Standby is EnterStandby's: out of its group's balancer and count.
	Standby bool `xml:"vmfleet:standby,omitempty"`
	// Spare marks an instance made ahead of the run that takes it
	// (see Prepare); no list shows it until then.
	Spare bool `xml:"vmfleet:spare,omitempty"`
	// InstanceType and Tags are what EC2 says of a standalone instance
	// (RunInstances, CreateTags).
	InstanceType string `xml:"vmfleet:instance-type,omitempty"`
	Tags         []Tag  `xml:"vmfleet:tags>vmfleet:tag,omitempty"`
	// Lifecycle is the lifecycle action holding it, if any.
	Lifecycle *LifecycleWait `xml:"vmfleet:lifecycle,omitempty"`
}

// LifecycleWait is what holds an instance at a lifecycle transition
// (Pending:Wait, Terminating:Wait): one action per hook, each with its
// token and timeouts, kept so that a restarted controller holds it still.
type LifecycleWait struct {
	Transition string            `xml:"transition,attr" json:"transition"`
	Actions    []LifecycleAction `xml:"vmfleet:action" json:"actions"`
}

// LifecycleAction is one hook's action on the instance.
type LifecycleAction struct {
	Hook  string `xml:"hook,attr" json:"hook"`
	Token string `xml:"token,attr" json:"token"`
	// Deadline moves with each heartbeat; Global does not.
	Deadline time.Time `xml:"deadline,attr" json:"deadline"`
	Global   time.Time `xml:"global,attr" json:"global"`
}

// Tag is one of an instance's own tags.
type Tag struct {
	Key   string `xml:"key,attr" json:"key"`
	Value string `xml:"value,attr" json:"value"`
}

// metadataOf is what the instance's domain remembers of it
// (instanceOf's inverse).
func metadataOf(inst *Instance) metadata {
	return metadata{ID: inst.ID, Service: inst.Service, Fleet: inst.Fleet, ImageName: inst.Image, ImageDigest: inst.ImageDigest,
		HostPort: inst.HostPort, GuestPort: inst.GuestPort, Template: inst.Template, Dir: inst.Dir, Created: inst.Created,
		Reach: inst.Reach, Snapshot: inst.Snapshot, CPUQuota: inst.cpuQuota, Pool: inst.Pool,
		Protected: inst.ProtectedFromScaleIn, Standby: inst.Standby, InstanceType: inst.InstanceType, Tags: inst.Tags, Lifecycle: inst.Lifecycle}
}

// Reach is what a guest may open connections to; the host's firewall
// holds it to that.
type Reach struct {
	HostPorts []int `xml:"vmfleet:host-port" json:"host_ports,omitempty"`
	Internet  bool  `xml:"vmfleet:internet,omitempty" json:"internet,omitempty"`
}

func (m *metadata) marshal() (string, error) {
	m.NS = hypervisor.MetadataNamespace
	b, err := xml.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("instance metadata: %w", err)
	}
	return string(b), nil
}

// parseMetadata reads the element libvirt hands back; libvirt rewrites the
// prefix, so fields are matched by local name.
func parseMetadata(s string) (*metadata, error) {
	var v struct {
		ID          string    `xml:"id"`
		Service     string    `xml:"service"`
		Fleet       string    `xml:"fleet"`
		ImageName   string    `xml:"image>name"`
		ImageDigest string    `xml:"image>digest"`
		HostPort    int       `xml:"port>host"`
		GuestPort   int       `xml:"port>guest"`
		Template    string    `xml:"template"`
		Dir         string    `xml:"dir"`
		Created     time.Time `xml:"created"`
		HostPorts   []int     `xml:"reach>host-port"`
		Internet    bool      `xml:"reach>internet"`
		Snapshot    string    `xml:"snapshot"`
		Spare       bool      `xml:"spare"`
		CPUQuota    int64     `xml:"cpu-quota"`
		Pool        string    `xml:"pool"`
		Protected   bool      `xml:"protected-from-scale-in"`
		Standby     bool      `xml:"standby"`
		Type        string    `xml:"instance-type"`
		Tags        []Tag     `xml:"tags>tag"`
		Lifecycle   *struct {
			Transition string            `xml:"transition,attr"`
			Actions    []LifecycleAction `xml:"action"`
		} `xml:"lifecycle"`
	}
	if err := xml.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("instance metadata: %w", err)
	}
	if v.ID == "" {
		return nil, fmt.Errorf("instance metadata: no id in %q", s)
	}
	return &metadata{ID: v.ID, Service: v.Service, Fleet: v.Fleet, ImageName: v.ImageName, ImageDigest: v.ImageDigest,
		HostPort: v.HostPort, GuestPort: v.GuestPort, Template: v.Template, Dir: v.Dir, Created: v.Created,
		Reach: Reach{HostPorts: v.HostPorts, Internet: v.Internet}, Snapshot: v.Snapshot, CPUQuota: v.CPUQuota, Pool: v.Pool, Spare: v.Spare,
		Protected: v.Protected, Standby: v.Standby, InstanceType: v.Type, Tags: v.Tags, Lifecycle: (*LifecycleWait)(v.Lifecycle)}, nil
}
