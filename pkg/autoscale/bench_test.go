package autoscale

import (
	"testing"
	"time"
)

// BenchmarkObserve20Instances is the per-second cost of the controller's
// loop for a 20-instance group: one Observe of 20 samples and one Decide.
func BenchmarkObserve20Instances(b *testing.B) {
	c := groupConfig(1, 40, cpuTarget(50), reqTarget(1000))
	c.InstanceWarmup = time.Minute
	tr, err := New(c)
	if err != nil {
		b.Fatal(err)
	}
	samples := make([]InstanceSample, 20)
	for i := range samples {
		samples[i] = serving(string(rune('a'+i)), 50, 100)
	}
	now := start
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Second)
		tr.Observe(now, time.Second, samples)
		if _, ok := tr.Decide(now, 20); ok {
			b.Fatal("a steady load at the target scaled")
		}
	}
}
