package autoscale

import (
	"strings"
	"testing"
	"time"
)

func TestNewRejectsABadConfigWithOneLineSayingWhatToFix(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no group", func(c *Config) { c.Group = "" }, "group name is empty"},
		{"negative min", func(c *Config) { c.Min = -1 }, "min -1 is negative"},
		{"max zero", func(c *Config) { c.Min, c.Max = 0, 0 }, "max 0 must be at least 1"},
		{"min above max", func(c *Config) { c.Min, c.Max = 3, 2 }, "min 3 is above max 2; lower min or raise max"},
		{"no policy", func(c *Config) { c.Policies = nil }, "no target tracking policy"},
		{"no period", func(c *Config) { c.Period = 0 }, "datapoint period 0s must be positive"},
		{"negative warmup", func(c *Config) { c.InstanceWarmup = -time.Second }, "instance warmup -1s is negative"},
		{"unknown metric", func(c *Config) { c.Policies = []Policy{{Metric: "disk", Target: 1}} }, `unknown metric "disk"; use cpu_utilization,`},
		{"zero target", func(c *Config) { c.Policies = []Policy{cpuTarget(0)} }, "target 0 of cpu_utilization must be a positive number"},
		{"duplicate metric", func(c *Config) { c.Policies = []Policy{cpuTarget(50), cpuTarget(60)} }, "two policies track cpu_utilization"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := groupConfig(1, 3, cpuTarget(50))
			tt.edit(&c)
			_, err := New(c)
			if err == nil {
				t.Fatalf("New(%+v) accepted it", c)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") {
				t.Fatalf("error %q, want one line containing %q", msg, tt.want)
			}
		})
	}
}

func TestNewAcceptsAValidConfigAndKeepsItsOwnPolicies(t *testing.T) {
	c := groupConfig(0, 10, cpuTarget(50), reqTarget(100))
	g := newGroup(t, c, 1)
	c.Policies[0] = cpuTarget(1) // the caller's slice, edited later
	none(t, g.run(9, steady(busy("a", 40))))
}
