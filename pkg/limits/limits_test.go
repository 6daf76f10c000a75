package limits_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/limits"
)

func TestDefaultsFollowAWS(t *testing.T) {
	// Pinned so that a change of default is a deliberate, visible act.
	if limits.DefaultHealthType != "http" || limits.DefaultHealthPath != "/" ||
		limits.DefaultHealthInterval != 30*time.Second || limits.DefaultHealthTimeout != 5*time.Second ||
		limits.DefaultHealthyThreshold != 5 || limits.DefaultUnhealthyThreshold != 2 ||
		limits.MinThreshold != 2 || limits.MaxThreshold != 10 {
		t.Error("health check defaults or bounds no longer match the ALB target group's")
	}
	if limits.DefaultDeregistrationDelay != 300*time.Second || limits.MaxDeregistrationDelay != time.Hour {
		t.Error("deregistration delay no longer matches the ALB target group's")
	}
	if limits.DefaultHealthCheckGracePeriod != 300*time.Second {
		t.Error("health check grace period no longer matches the Auto Scaling group's")
	}
	if limits.DefaultInstanceWarmup != 300*time.Second || limits.MaxInstanceWarmup != time.Hour {
		t.Error("instance warm-up no longer matches target tracking's default or the group's bound")
	}
	if limits.DefaultInstances != 1 || limits.DefaultCPU != 1 || limits.DefaultMemory != 256<<20 ||
		limits.DefaultListen != "127.0.0.1:0" || !limits.DefaultReplay || limits.DefaultStopTimeout != 10*time.Second {
		t.Error("instance or balancer defaults changed")
	}
}

func TestEveryDefaultIsWithinItsLimits(t *testing.T) {
	for what, err := range map[string]error{
		"cpu":                  limits.CheckCPU(limits.DefaultCPU),
		"memory":               limits.CheckMemory(limits.DefaultMemory),
		"healthy threshold":    limits.CheckThreshold(limits.DefaultHealthyThreshold),
		"unhealthy threshold":  limits.CheckThreshold(limits.DefaultUnhealthyThreshold),
		"deregistration delay": limits.CheckDeregistrationDelay(limits.DefaultDeregistrationDelay),
		"time scale":           limits.CheckTimeScale(limits.DefaultTimeScale),
		"instance warm-up":     limits.CheckInstanceWarmup(limits.DefaultInstanceWarmup),
		"instances":            limits.CheckGroupMax(limits.DefaultInstances),
	} {
		if err != nil {
			t.Errorf("default %s: %v", what, err)
		}
	}
	// AWS requires the timeout to be shorter than the interval.
	if limits.DefaultHealthTimeout >= limits.DefaultHealthInterval {
		t.Error("default health timeout is not shorter than the default interval")
	}
}

// Every bound is inclusive: the bound itself is accepted, the next value
// past it refused.
func TestBoundsAreInclusive(t *testing.T) {
	for _, tc := range []struct {
		what string
		err  error
		ok   bool
	}{
		{"cpu 0.01", limits.CheckCPU(0.01), true},
		{"cpu 0.0099", limits.CheckCPU(0.0099), false},
		{"cpu 64", limits.CheckCPU(64), true},
		{"cpu next after 64", limits.CheckCPU(math.Nextafter(64, 65)), false},
		{"cpu 0", limits.CheckCPU(0), false},
		{"cpu NaN", limits.CheckCPU(math.NaN()), false},
		{"cpu -Inf", limits.CheckCPU(math.Inf(-1)), false},
		{"memory 96MiB", limits.CheckMemory(96 << 20), true},
		{"memory 96MiB less a byte", limits.CheckMemory(96<<20 - 1), false},
		{"memory 1TiB", limits.CheckMemory(1 << 40), true},
		// As measured: vmfleet-init's initramfs boots in 80MiB, not 72MiB;
		// a lone vmfleet's in 160MiB, not 128MiB.
		{"memory 80MiB for a 7.7 MB initramfs", limits.CheckMemoryForInitramfs(80<<20, 7_667_120), true},
		{"memory 72MiB for a 7.7 MB initramfs", limits.CheckMemoryForInitramfs(72<<20, 7_667_120), false},
		{"memory 160MiB for a 30.5 MB initramfs", limits.CheckMemoryForInitramfs(160<<20, 30_526_816), true},
		{"memory 128MiB for a 30.5 MB initramfs", limits.CheckMemoryForInitramfs(128<<20, 30_526_816), false},
		{"memory 1TiB and a byte", limits.CheckMemory(1<<40 + 1), false},
		{"port 1", limits.CheckPort(1), true},
		{"port 0", limits.CheckPort(0), false},
		{"port 65535", limits.CheckPort(65535), true},
		{"port 65536", limits.CheckPort(65536), false},
		{"threshold 2", limits.CheckThreshold(2), true},
		{"threshold 1", limits.CheckThreshold(1), false},
		{"threshold 10", limits.CheckThreshold(10), true},
		{"threshold 11", limits.CheckThreshold(11), false},
		{"delay 0s", limits.CheckDeregistrationDelay(0), true},
		{"delay -1ns", limits.CheckDeregistrationDelay(-1), false},
		{"delay 1h", limits.CheckDeregistrationDelay(time.Hour), true},
		{"delay 1h and 1ns", limits.CheckDeregistrationDelay(time.Hour + 1), false},
		{"time scale 0.001", limits.CheckTimeScale(0.001), true},
		{"time scale next below 0.001", limits.CheckTimeScale(math.Nextafter(0.001, 0)), false},
		{"time scale 1", limits.CheckTimeScale(1), true},
		{"time scale next after 1", limits.CheckTimeScale(math.Nextafter(1, 2)), false},
		{"time scale 0", limits.CheckTimeScale(0), false},
		{"time scale NaN", limits.CheckTimeScale(math.NaN()), false},
		{"time scale +Inf", limits.CheckTimeScale(math.Inf(1)), false},
		{"group max 1", limits.CheckGroupMax(1), true},
		{"group max 0", limits.CheckGroupMax(0), false},
		{"group max 100", limits.CheckGroupMax(100), true},
		{"group max 101", limits.CheckGroupMax(101), false},
		{"warm-up 0s", limits.CheckInstanceWarmup(0), true},
		{"warm-up -1ns", limits.CheckInstanceWarmup(-1), false},
		{"warm-up 1h", limits.CheckInstanceWarmup(time.Hour), true},
		{"warm-up 1h and 1ns", limits.CheckInstanceWarmup(time.Hour + 1), false},
		{"cpu target 100", limits.CheckTarget(limits.MetricCPUUtilization, 100), true},
		{"cpu target next after 100", limits.CheckTarget(limits.MetricCPUUtilization, math.Nextafter(100, 101)), false},
		{"request target 150", limits.CheckTarget(limits.MetricRequestCountPerTarget, 150), true},
		{"target next after 0", limits.CheckTarget(limits.MetricNetworkIn, math.SmallestNonzeroFloat64), true},
		{"target 0", limits.CheckTarget(limits.MetricNetworkOut, 0), false},
		{"target NaN", limits.CheckTarget(limits.MetricNetworkOut, math.NaN()), false},
		{"target +Inf", limits.CheckTarget(limits.MetricRequestCountPerTarget, math.Inf(1)), false},
		{"name of 40", limits.CheckName(strings.Repeat("a", 40)), true},
		{"name of 41", limits.CheckName(strings.Repeat("a", 41)), false},
		{"image name of 81", limits.CheckImageName(strings.Repeat("a", 81)), true},
		{"image name of 82", limits.CheckImageName(strings.Repeat("a", 82)), false},
	} {
		if (tc.err == nil) != tc.ok {
			t.Errorf("%s: got %v, want accepted=%v", tc.what, tc.err, tc.ok)
		}
	}
}

func TestNamesAreDNSLabels(t *testing.T) {
	for _, s := range []string{"web", "a", "0", "web-1", "a--b"} {
		if err := limits.CheckName(s); err != nil {
			t.Errorf("%q refused: %v", s, err)
		}
	}
	for _, s := range []string{"", "Web", "web_1", "-web", "web-", "web.shop", "wéb"} {
		if limits.CheckName(s) == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestARefusedNameIsGivenAValidAlternative(t *testing.T) {
	err := limits.CheckName("My Shop!")
	if err == nil || !strings.HasSuffix(err.Error(), ", like my-shop") {
		t.Fatalf("got %v, want a suggestion of my-shop", err)
	}
	if alt := limits.SanitizeName("My Shop!"); limits.CheckName(alt) != nil {
		t.Errorf("SanitizeName gave %q, which CheckName refuses", alt)
	}
	if alt := limits.SanitizeName(strings.Repeat("ab-", 30)); len(alt) > limits.MaxNameLen || limits.CheckName(alt) != nil {
		t.Errorf("SanitizeName of a long name gave %q", alt)
	}
	if alt := limits.SanitizeName("___"); alt != "" {
		t.Errorf("SanitizeName of nothing usable gave %q, want empty", alt)
	}
}

func TestEnvNames(t *testing.T) {
	for _, s := range []string{"LOG_LEVEL", "_x1", "a"} {
		if err := limits.CheckEnvName(s); err != nil {
			t.Errorf("%q refused: %v", s, err)
		}
	}
	for _, s := range []string{"", "1X", "LOG-LEVEL", "A B", "É"} {
		if limits.CheckEnvName(s) == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestFormatSizeUsesTheLargestExactUnit(t *testing.T) {
	for n, want := range map[int64]string{96 << 20: "96MiB", 1 << 40: "1TiB", 1536 << 20: "1536MiB", 1025: "1025 bytes", -1: "-1 bytes"} {
		if got := limits.FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// A check's error reads after the value as its caller names it, so the
// fleet file and the command line say the same thing the same way.
func ExampleCheckCPU() {
	if err := limits.CheckCPU(100); err != nil {
		fmt.Println("--cpu 100 " + err.Error())
	}
	// Output: --cpu 100 is more than 64 cores; give cores from 0.01 to 64, like 0.5 or 2
}
