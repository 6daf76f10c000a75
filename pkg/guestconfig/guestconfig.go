// Package guestconfig is the configuration the host hands to a guest's init:
// what to run and who it is. The host passes it through QEMU's fw_cfg device
// (as Ignition does on QEMU), so no disk has to be written per instance.
package guestconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vmfleet/vmfleet/pkg/imds"
)

// FwCfgName is the fw_cfg entry the config travels in; the guest reads it
// at /sys/firmware/qemu_fw_cfg/by_name/<FwCfgName>/raw.
const FwCfgName = "opt/dev.vmfleet/config"

// TemplateArg on the kernel command line boots a template: the guest loads
// its drivers and waits to be saved, and each clone restored from it takes
// its own config from fw_cfg after it wakes.
const TemplateArg = "vmfleet.template"

// Config is everything a guest's init needs to start its service.
type Config struct {
	Service    string   `json:"service"`
	InstanceID string   `json:"instance_id"`
	Hostname   string   `json:"hostname"`
	Command    []string `json:"command"`
	Env        []string `json:"env"` // KEY=VALUE, the image's then the instance's
	WorkDir    string   `json:"workdir,omitempty"`
	// StopTimeout is how long the service has to exit after SIGTERM before
	// it is killed and the VM powers off.
	StopTimeout Duration `json:"stop_timeout"`
	Network     Network  `json:"network"`
	// Internet gives the guest a default route through the user-mode
	// network; the host's firewall lets it out.
	Internet bool `json:"internet,omitempty"`
	// Metadata is what the guest's instance metadata service answers at
	// 169.254.169.254, as EC2's does.
	Metadata imds.Metadata `json:"metadata"`
}

// Network is the guest's static address on QEMU's user-mode network.
type Network struct {
	Interface string `json:"interface"` // eth0
	Address   string `json:"address"`   // CIDR, 10.0.2.15/24
	// Gateway is the user network's own address: the host's 127.0.0.1 as
	// the guest sees it (where its dependencies' balancers and host ports
	// are, as far as the host's firewall lets it), the source of forwarded
	// connections and the route to the outside.
	Gateway string `json:"gateway"` // 10.0.2.2
	DNS     string `json:"dns"`     // 10.0.2.3
}

// UserNetwork is the fixed layout of QEMU's user-mode (slirp) network.
var UserNetwork = Network{Interface: "eth0", Address: "10.0.2.15/24", Gateway: "10.0.2.2", DNS: "10.0.2.3"}

// Duration is a time.Duration that reads and writes as "10s".
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// Validate reports a config init could not act on.
func (c *Config) Validate() error {
	if len(c.Command) == 0 || c.Command[0] == "" {
		return errors.New("guest config: no command")
	}
	if c.InstanceID == "" || c.Service == "" {
		return errors.New("guest config: no instance id or service")
	}
	return nil
}

// Encode renders the config for fw_cfg.
func (c *Config) Encode() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(c)
}

// Decode parses what the host handed over.
func Decode(b []byte) (*Config, error) {
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("guest config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}
