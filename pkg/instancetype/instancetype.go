// Package instancetype is the EC2 instance types vmfleet launches: each
// type's vCPUs and memory as AWS sizes it, and the CPU cap it becomes
// (a burstable type's baseline, the others' whole vCPUs).
package instancetype

import (
	"slices"
	"strings"
)

// Type is one instance type.
type Type struct {
	Name      string
	VCPUs     int
	MemoryMiB int64
	// Baseline is a burstable type's baseline utilisation per vCPU
	// (0.1 for 10 %); 0 for a type that is not burstable.
	Baseline float64
}

// Architecture of every type here: vmfleet's guests are x86_64.
const Architecture = "x86_64"

// CPU is the type's cap in cores: what a burstable type may use without
// spending credits (vCPUs × baseline), or all its vCPUs.
func (t Type) CPU() float64 {
	if t.Baseline > 0 {
		return float64(t.VCPUs) * t.Baseline
	}
	return float64(t.VCPUs)
}

// MemoryBytes is the type's memory.
func (t Type) MemoryBytes() int64 { return t.MemoryMiB << 20 }

// Burstable tells whether the type earns and spends CPU credits.
func (t Type) Burstable() bool { return t.Baseline > 0 }

// types are AWS's published sizes (vCPUs, GiB, baseline per vCPU) of the
// t3, m5 and c5 families, up to the 64 cores an instance may have here.
var types = []Type{
	{"t3.nano", 2, 512, 0.05},
	{"t3.micro", 2, 1024, 0.10},
	{"t3.small", 2, 2048, 0.20},
	{"t3.medium", 2, 4096, 0.20},
	{"t3.large", 2, 8192, 0.30},
	{"t3.xlarge", 4, 16384, 0.40},
	{"t3.2xlarge", 8, 32768, 0.40},
	{"m5.large", 2, 8192, 0},
	{"m5.xlarge", 4, 16384, 0},
	{"m5.2xlarge", 8, 32768, 0},
	{"m5.4xlarge", 16, 65536, 0},
	{"m5.8xlarge", 32, 131072, 0},
	{"m5.12xlarge", 48, 196608, 0},
	{"m5.16xlarge", 64, 262144, 0},
	{"c5.large", 2, 4096, 0},
	{"c5.xlarge", 4, 8192, 0},
	{"c5.2xlarge", 8, 16384, 0},
	{"c5.4xlarge", 16, 32768, 0},
	{"c5.9xlarge", 36, 73728, 0},
	{"c5.12xlarge", 48, 98304, 0},
}

// armFamilies are AWS's Graviton families: real types, on an architecture
// vmfleet's x86_64 images cannot run.
var armFamilies = []string{"a1", "t4g", "m6g", "m6gd", "m7g", "m7gd", "m8g", "c6g", "c6gd", "c6gn", "c7g", "c7gd", "c7gn", "c8g", "r6g", "r6gd", "r7g", "r8g", "x2gd", "im4gn", "is4gen", "g5g"}

// Lookup finds the type called name.
func Lookup(name string) (Type, bool) {
	i := slices.IndexFunc(types, func(t Type) bool { return t.Name == name })
	if i < 0 {
		return Type{}, false
	}
	return types[i], true
}

// IsArm tells whether name is an arm64 (Graviton) type.
func IsArm(name string) bool {
	family, _, ok := strings.Cut(name, ".")
	return ok && slices.Contains(armFamilies, family)
}

// All is every type, in the table's order.
func All() []Type { return slices.Clone(types) }
