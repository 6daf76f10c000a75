package limits

import (
	"fmt"
	"time"
)

// Time scale. Every period in a fleet file (health interval and timeout,
// the health check grace period, deregistration delay, instance warm-up,
// target tracking's one-minute datapoint) is written in AWS time and
// multiplied by the fleet's time scale when it runs, so that the ratios
// between periods stay as AWS has them while a demo does not wait minutes.
const (
	// DefaultTimeScale runs a fleet 20 times faster than AWS. With AWS's
	// defaults a target needs 5 checks 30 s apart, 150 s, to go healthy;
	// at 0.05 that is 7.5 s, so a fleet file that sets no timings is in
	// service within 15 s of its VMs booting under TCG. 1 runs AWS's own
	// time.
	DefaultTimeScale = 0.05
	// MinTimeScale keeps AWS's periods apart after scaling: AWS's shortest
	// health check timeout, 2 s, is still 2 ms at 0.001, above the 1 ms
	// that Scaled rounds to, while at smaller scales short periods would
	// collapse onto that floor and their ratios be lost.
	MinTimeScale = 0.001
	// MaxTimeScale is AWS's own time; a larger scale would only make the
	// fleet slower than what it imitates.
	MaxTimeScale = 1.0
)

// CheckTimeScale reports whether scale is a time scale a fleet may run at.
func CheckTimeScale(scale float64) error {
	fix := fmt.Sprintf("give %g to %g, like %g (%g is AWS's own time)", MinTimeScale, MaxTimeScale, DefaultTimeScale, MaxTimeScale)
	if err := checkPositive(scale, fix); err != nil {
		return err
	}
	switch {
	case scale < MinTimeScale:
		return &Error{fmt.Sprintf("is less than %g, below which short periods all round to 1ms", MinTimeScale), fix}
	case scale > MaxTimeScale:
		return &Error{fmt.Sprintf("is more than %g, which would run slower than AWS", MaxTimeScale), fix}
	}
	return nil
}

// Scaled is d, a period in AWS time, at time scale scale (one that
// CheckTimeScale accepts), rounded to a millisecond. A positive d is never
// less than 1ms, so that a period that exists in AWS still exists scaled:
// a zero interval would be a busy loop.
func Scaled(d time.Duration, scale float64) time.Duration {
	s := time.Duration(float64(d) * scale).Round(time.Millisecond)
	if d > 0 && s < time.Millisecond {
		return time.Millisecond
	}
	return s
}

// ScaledDrain is a target group's deregistration delay as a balancer runs
// it: scaled, and a configured zero stays zero (negative: the balancer
// reads 0 as its default).
func ScaledDrain(d time.Duration, scale float64) time.Duration {
	if d == 0 {
		return -1
	}
	return Scaled(d, scale)
}

// MinScaledGracePeriod is the least health check grace period scaling
// makes: the grace period must cover a VM's boot, and a boot does not
// compress with the time scale (measured here: 3.8 s to 7.4 s for a small
// Go service under TCG, more when ten boot at once).
const MinScaledGracePeriod = 60 * time.Second

// ScaledGracePeriod is Scaled for the health check grace period, the one
// period that does not go below MinScaledGracePeriod, for the reason given
// there. A grace period already shorter than that in AWS time is kept as
// it is rather than lengthened, so that time scale 1 is exactly AWS's time.
func ScaledGracePeriod(d time.Duration, scale float64) time.Duration {
	return max(Scaled(d, scale), min(d, MinScaledGracePeriod))
}
