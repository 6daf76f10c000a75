package hypervisor

import (
	"testing"

	"github.com/digitalocean/go-libvirt"
)

func TestChooseURIPrefersTheFlagThenLIBVIRT_DEFAULT_URIThenTheSystemDriver(t *testing.T) {
	for _, tc := range []struct {
		name, flag, env, want string
	}{
		{"flag wins over the environment", "qemu+ssh://host/system", "qemu:///session", "qemu+ssh://host/system"},
		{"flag alone", "qemu:///session", "", "qemu:///session"},
		{"environment without a flag", "", "qemu+tcp://10.0.0.1/system", "qemu+tcp://10.0.0.1/system"},
		{"neither", "", "", "qemu:///system"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == "LIBVIRT_DEFAULT_URI" {
					return tc.env
				}
				return "unexpected-" + k
			}
			if got := ChooseURI(tc.flag, getenv); got != tc.want {
				t.Errorf("ChooseURI(%q) with LIBVIRT_DEFAULT_URI=%q = %q, want %q", tc.flag, tc.env, got, tc.want)
			}
		})
	}
}

func TestStateOfMapsLibvirtStates(t *testing.T) {
	for in, want := range map[libvirt.DomainState]State{
		libvirt.DomainRunning: Running,
		// virsh says "idle": the guest runs and waits for something.
		libvirt.DomainBlocked:     Running,
		libvirt.DomainPaused:      Paused,
		libvirt.DomainShutdown:    Stopping,
		libvirt.DomainShutoff:     Shutoff,
		libvirt.DomainCrashed:     Crashed,
		libvirt.DomainNostate:     Other,
		libvirt.DomainPmsuspended: Other,
		libvirt.DomainState(99):   Other,
	} {
		if got := stateOf(in); got != want {
			t.Errorf("stateOf(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestAccelHonoursVMFLEET_ACCELWithoutAskingLibvirt(t *testing.T) {
	// A zero Libvirt has no connection: asking it would panic.
	for env, want := range map[string]Accel{"kvm": KVM, "KVM": KVM, "tcg": TCG, "qemu": TCG} {
		t.Setenv("VMFLEET_ACCEL", env)
		got, why, err := (&Libvirt{}).Accel(t.Context())
		if err != nil || got != want || why == "" {
			t.Errorf("VMFLEET_ACCEL=%s: %q %q %v, want %q with a reason", env, got, why, err, want)
		}
	}
}
