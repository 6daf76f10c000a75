package limits

import (
	"fmt"
	"math"
	"time"
)

// CPU is cores per instance: a cgroup quota of CPU time, so fractions are
// allowed, on ceil(cores) vCPUs.
const (
	// MinCPU is the least quota the kernel takes: cgroups refuse a quota
	// under 1ms, and the launcher's period is 100ms.
	MinCPU = 0.01
	// MaxCPU is the most an instance may have: the launcher gives it
	// ceil(cores) vCPUs, and libvirt domains of 64 vCPUs are well within
	// what QEMU and KVM support; far beyond the machines vmfleet runs on,
	// it mostly catches typos.
	MaxCPU = 64.0
	// DefaultCPU is one whole vCPU, the smallest whole-core instance (AWS
	// has no default).
	DefaultCPU = 1.0
)

// Guest memory per instance, in bytes.
const (
	// MinMemory is the least guest RAM the Debian cloud kernel boots in
	// with our initramfs, with room left for a small service (measured: 72
	// MiB fails, 80 MiB boots).
	MinMemory = 96 << 20
	// MaxMemory guards against typos, and int64 overflow while parsing.
	MaxMemory = 1 << 40
	// DefaultMemory matches a small cloud instance (AWS has no default).
	DefaultMemory = 256 << 20
)

// DefaultInstances is a service's instance count when none is given. AWS
// Auto Scaling has no default (desired capacity must be given); 1 is
// docker compose's default scale.
const DefaultInstances = 1

// DefaultStopTimeout is how long a stopping instance has, docker stop's
// default: the service in the guest between SIGTERM and SIGKILL, and the
// VM between the ACPI shutdown request and being destroyed.
const DefaultStopTimeout = 10 * time.Second

// CheckCPU reports whether cores is a CPU an instance may have.
func CheckCPU(cores float64) error {
	fix := fmt.Sprintf("give cores from %g to %g, like 0.5 or 2", MinCPU, MaxCPU)
	if err := checkPositive(cores, fix); err != nil {
		return err
	}
	switch {
	case cores < MinCPU:
		return &Error{fmt.Sprintf("is less than %g cores, the least a cgroup quota can be", MinCPU), fix}
	case cores > MaxCPU:
		return &Error{fmt.Sprintf("is more than %g cores", MaxCPU), fix}
	}
	return nil
}

// checkPositive reports a value that is not a finite number above zero.
func checkPositive(v float64, fix string) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return &Error{"is not a finite number", fix}
	case v <= 0:
		return &Error{"must be more than zero", fix}
	}
	return nil
}

// CheckMemory reports whether bytes is guest RAM an instance may have.
func CheckMemory(bytes int64) error {
	fix := fmt.Sprintf("give %s to %s, like %s", FormatSize(MinMemory), FormatSize(MaxMemory), FormatSize(DefaultMemory))
	switch {
	case bytes < MinMemory:
		return &Error{fmt.Sprintf("is below the %s the guest kernel needs to boot", FormatSize(MinMemory)), fix}
	case bytes > MaxMemory:
		return &Error{fmt.Sprintf("is more than %s", FormatSize(MaxMemory)), fix}
	}
	return nil
}

// MemoryForInitramfs is the least guest RAM that boots an image whose
// initramfs has size bytes: the kernel holds it packed and unpacked at
// once, and the init it holds needs memory in proportion. Measured with
// the cloud kernel: 7.7 MB (vmfleet-init) boots in 80MiB, not in 72MiB;
// 30.5 MB (a lone vmfleet as its own init) boots in 160MiB, not in 128MiB.
func MemoryForInitramfs(size int64) int64 { return 56<<20 + 3*size }

// CheckMemoryForInitramfs reports guest RAM too small for an image's
// initramfs of size bytes.
func CheckMemoryForInitramfs(bytes, size int64) error {
	need := MemoryForInitramfs(size)
	if bytes >= need {
		return nil
	}
	need = (need + 1<<20 - 1) &^ (1<<20 - 1) // whole MiB, rounded up
	return &Error{fmt.Sprintf("is below the %s this image's %.1f MB initramfs needs to boot", FormatSize(need), float64(size)/1e6),
		fmt.Sprintf("give it %s or more, or bake it again with vmfleet-init beside vmfleet (make build) for a smaller initramfs", FormatSize(need))}
}

// FormatSize writes n as messages about sizes do: in the largest binary
// unit that divides it exactly, like 96MiB.
func FormatSize(n int64) string {
	for _, u := range []struct {
		name string
		size int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d%s", n/u.size, u.name)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

// BootBurst is the longest an instance runs uncapped (at all its vCPUs)
// after it launches, as an EC2 burstable instance spends launch credits;
// the controller caps it sooner, once it is in service.
const BootBurst = 10 * time.Second

// MaxUserData is the most user data an instance may have, EC2's limit:
// 16 KiB before base64.
const MaxUserData = 16 << 10
