package autoscale

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// FuzzDecideStaysInBoundsAndAlwaysChangesSomething drives a random group
// with a random stream of samples, clock steps and desired capacities (some
// out of bounds, as after a manual change) and checks every answer of
// Decide: a decision starts from the desired it was given, changes it, and
// lands in [Min, Max]; no decision means desired already was in bounds.
// Plain `go test` runs the seeds below; `go test -fuzz` explores further.
func FuzzDecideStaysInBoundsAndAlwaysChangesSomething(f *testing.F) {
	for seed := range uint64(200) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		r := rand.New(rand.NewPCG(seed, seed*0x9e3779b97f4a7c15+1))
		c := randomConfig(r)
		tr, err := New(c)
		if err != nil {
			t.Fatalf("New(%+v): %v", c, err)
		}
		now, desired := start, c.Min+r.IntN(c.Max-c.Min+1)
		level := 0.0
		for step := range 600 {
			if step%40 == 0 { // load moves between idle and overload in phases
				level = []float64{0, 1, 10, 50, 200}[r.IntN(5)]
			}
			now = now.Add(time.Duration(r.IntN(2500)-100) * time.Millisecond)
			interval := time.Duration(r.IntN(2200)-200) * time.Millisecond
			tr.Observe(now, interval, randomSamples(r, now, desired, level))
			if r.IntN(50) == 0 {
				desired = r.IntN(c.Max+4) - 2 // a manual change, maybe out of bounds
			}
			d, ok := tr.Decide(now, desired)
			if !ok {
				if desired < c.Min || desired > c.Max {
					t.Fatalf("step %d: desired %d outside [%d, %d] left alone", step, desired, c.Min, c.Max)
				}
				continue
			}
			if d.From != desired || d.From == d.To || d.To < c.Min || d.To > c.Max || d.Cause == "" {
				t.Fatalf("step %d: desired %d, bounds [%d, %d]: bad decision %+v", step, desired, c.Min, c.Max, d)
			}
			desired = d.To
		}
	})
}

func randomConfig(r *rand.Rand) Config {
	c := Config{
		Group:          "g",
		Min:            r.IntN(3),
		InstanceWarmup: time.Duration(r.IntN(10)) * time.Second,
		DisableScaleIn: r.IntN(4) == 0,
		Period:         time.Duration(1+r.IntN(5)) * time.Second,
	}
	c.Max = max(1, c.Min+r.IntN(6))
	for _, m := range []Metric{CPUUtilization, RequestCountPerTarget, NetworkIn, NetworkOut} {
		if r.IntN(2) == 0 || len(c.Policies) == 0 && m == NetworkOut {
			c.Policies = append(c.Policies, Policy{Metric: m, Target: 0.5 + r.Float64()*100})
		}
	}
	return c
}

// randomSamples is roughly desired instances, some booting or warming up,
// with usage around level, broken readings included.
func randomSamples(r *rand.Rand, now time.Time, desired int, level float64) []InstanceSample {
	out := make([]InstanceSample, max(0, desired+r.IntN(3)-1))
	for i := range out {
		s := InstanceSample{ID: string(rune('a' + i))}
		switch r.IntN(4) {
		case 0: // not in service
		case 1:
			s.InServiceSince = now.Add(-time.Duration(r.IntN(10)) * time.Second)
		default:
			s.InServiceSince = now.Add(-time.Hour)
		}
		s.CPUPercent, s.Requests, s.NetIn, s.NetOut = usageValue(r, level), usageValue(r, level), usageValue(r, level), usageValue(r, level)
		out[i] = s
	}
	return out
}

func usageValue(r *rand.Rand, level float64) float64 {
	switch r.IntN(200) {
	case 0:
		return math.NaN()
	case 1:
		return -1
	case 2:
		return math.MaxFloat64
	default:
		return level * (0.8 + 0.4*r.Float64())
	}
}
