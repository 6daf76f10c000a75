package limits

import (
	"fmt"
	"strings"
	"time"
)

// Ports, of a guest service and of host addresses. Where a caller allows 0
// (a free port, or none) it says so and checks other values here.
const (
	MinPort = 1
	MaxPort = 65535
)

// CheckPort reports whether p is a TCP port.
func CheckPort(p int) error {
	if p < MinPort || p > MaxPort {
		return &Error{"is out of range", fmt.Sprintf("use a port from %d to %d", MinPort, MaxPort)}
	}
	return nil
}

// Health checks. The defaults are an AWS Application Load Balancer target
// group's.
const (
	// DefaultHealthType is ALB's default protocol.
	DefaultHealthType = "http"
	// DefaultHealthPath is ALB's default health check path.
	DefaultHealthPath = "/"
	// DefaultHealthInterval is ALB's HealthCheckIntervalSeconds (30).
	DefaultHealthInterval = 30 * time.Second
	// DefaultHealthTimeout is ALB's HealthCheckTimeoutSeconds for HTTP (5).
	DefaultHealthTimeout = 5 * time.Second
	// DefaultHealthyThreshold is ALB's HealthyThresholdCount (5).
	DefaultHealthyThreshold = 5
	// DefaultUnhealthyThreshold is ALB's UnhealthyThresholdCount (2).
	DefaultUnhealthyThreshold = 2
	// MinThreshold and MaxThreshold are AWS's range for both thresholds.
	MinThreshold = 2
	MaxThreshold = 10
	// DefaultHealthCheckGracePeriod is an Auto Scaling group's default
	// (console): a booting instance is not judged before it passes.
	DefaultHealthCheckGracePeriod = 300 * time.Second
)

// CheckThreshold reports whether n is a healthy or unhealthy threshold.
func CheckThreshold(n int) error {
	if n < MinThreshold || n > MaxThreshold {
		return &Error{"is out of range", fmt.Sprintf("use %d to %d, AWS's range", MinThreshold, MaxThreshold)}
	}
	return nil
}

// A service's load balancer.
const (
	// DefaultListen is the balancer's address when none is given: loopback,
	// port 0, meaning a free port is chosen when the fleet comes up.
	DefaultListen = DefaultListenHost + ":0"
	// DefaultListenHost replaces a missing host in a listen address
	// (":8080"), so nothing is exposed beyond the machine unless asked.
	DefaultListenHost = "127.0.0.1"
	// DefaultDeregistrationDelay is ALB's
	// deregistration_delay.timeout_seconds (300).
	DefaultDeregistrationDelay = 300 * time.Second
	// MaxDeregistrationDelay is AWS's upper bound for it (3600s).
	MaxDeregistrationDelay = 3600 * time.Second
	// DefaultReplay: a request whose instance closes the connection before
	// answering is replayed on the next instance, as HAProxy's
	// "retry-on empty-response" does (AWS has no such setting).
	DefaultReplay = true
)

// CheckDeregistrationDelay reports whether d is a deregistration delay.
func CheckDeregistrationDelay(d time.Duration) error {
	return checkPeriod(d, MaxDeregistrationDelay)
}

// checkPeriod reports whether d lies in 0..most, an AWS range.
func checkPeriod(d, most time.Duration) error {
	if d < 0 || d > most {
		// Written "1h" rather than "1h0m0s", as AWS's documentation would.
		return &Error{"is out of range", fmt.Sprintf("use 0s to %s, AWS's range", strings.TrimSuffix(most.String(), "0m0s"))}
	}
	return nil
}
