package instancetype

import (
	"testing"

	"github.com/vmfleet/vmfleet/pkg/limits"
)

func TestABurstableTypeIsCappedAtItsBaselineAndOthersAtTheirVCPUs(t *testing.T) {
	for name, want := range map[string]float64{"t3.micro": 0.2, "t3.xlarge": 1.6, "m5.large": 2, "c5.4xlarge": 16} {
		typ, ok := Lookup(name)
		if !ok || typ.CPU() != want {
			t.Errorf("%s: cap %v (found %v), want %v", name, typ.CPU(), ok, want)
		}
	}
	if typ, _ := Lookup("t3.micro"); typ.MemoryBytes() != 1<<30 {
		t.Errorf("t3.micro memory %d", typ.MemoryBytes())
	}
}

func TestEveryTypeIsOneAnInstanceMayHave(t *testing.T) {
	for _, typ := range All() {
		if err := limits.CheckCPU(typ.CPU()); err != nil {
			t.Errorf("%s: cpu %v", typ.Name, err)
		}
		if err := limits.CheckMemory(typ.MemoryBytes()); err != nil {
			t.Errorf("%s: memory %v", typ.Name, err)
		}
	}
}

func TestGravitonTypesAreArmAndNotLaunched(t *testing.T) {
	for _, name := range []string{"t4g.micro", "m6g.large", "c7g.xlarge"} {
		if !IsArm(name) {
			t.Errorf("%s is not known as arm64", name)
		}
		if _, ok := Lookup(name); ok {
			t.Errorf("%s is launchable", name)
		}
	}
	if IsArm("t3.micro") || IsArm("nonsense") {
		t.Error("an x86 type or a nonsense name is called arm64")
	}
}
