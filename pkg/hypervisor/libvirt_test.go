package hypervisor

import (
	"testing"
	"time"

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

func TestCPUPercentIsCPUTimeOverWallTimeInPercentOfACore(t *testing.T) {
	t0 := time.Unix(1000, 0)
	before := Stats{CPUTime: 2 * time.Second, Time: t0}
	for _, c := range []struct {
		cpu, wall time.Duration
		want      float64
	}{
		{500 * time.Millisecond, time.Second, 50},
		{2 * time.Second, time.Second, 200}, // two vCPUs busy
		{0, time.Second, 0},
		{time.Second, 0, 0},            // no time passed: no answer
		{-time.Second, time.Second, 0}, // a restarted domain's counter
	} {
		after := Stats{CPUTime: before.CPUTime + c.cpu, Time: t0.Add(c.wall)}
		if got := CPUPercent(before, after); got != c.want {
			t.Errorf("cpu %s over %s: %.1f%%, want %.1f%%", c.cpu, c.wall, got, c.want)
		}
	}
}
