package limits

import "fmt"

// Warm pool states, as Auto Scaling's PutWarmPool names them (PoolState)
// in a fleet file's spelling: what an instance waiting in a service's
// warm pool is kept as.
const (
	// PoolStopped: its disk, config and libvirt domain are made, the
	// domain is shut off; it starts (from the snapshot) when it is needed.
	PoolStopped = "stopped"
	// PoolRunning: booted and healthy, out of the balancer's rotation.
	PoolRunning = "running"
	// PoolHibernated: booted and healthy, then its memory saved to its
	// own directory and its QEMU stopped; it resumes where it was.
	PoolHibernated = "hibernated"
	// DefaultPoolState is AWS's default PoolState.
	DefaultPoolState = PoolStopped
)

// PoolStates lists the warm pool states, in the order messages give them.
func PoolStates() []string { return []string{PoolStopped, PoolRunning, PoolHibernated} }

// CheckPoolSize reports whether n can be a warm pool's min_size or
// max_group_prepared_capacity: a pool holds real VMs, so it is bounded
// like a group.
func CheckPoolSize(n int) error {
	if n < 0 || n > MaxGroupSize {
		return &Error{"is out of range", fmt.Sprintf("use 0 to %d", MaxGroupSize)}
	}
	return nil
}
