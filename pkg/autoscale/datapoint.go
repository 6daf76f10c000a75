package autoscale

import (
	"math"
	"time"
)

// InstanceSample is one instance's use over one collection interval (the
// caller samples about every second). Each instance appears at most once in
// one Observe call.
type InstanceSample struct {
	ID string
	// InServiceSince is when the instance went in service; zero while it is
	// not (booting, draining), and then the sample is ignored.
	InServiceSince time.Time
	// CPUPercent is the percent of its CPU cap used over the interval
	// (0..100, more if the cap is soft).
	CPUPercent float64
	// Requests is how many requests (new connections) its target got in the
	// interval.
	Requests float64
	// NetIn and NetOut are the bytes received and sent in the interval.
	NetIn, NetOut float64
}

// accumulator sums the samples of the open period. Times are in seconds;
// "eligible" is instance-seconds of eligible instances, the weight of every
// per-instance average.
type accumulator struct {
	covered  float64 // seconds of samples, eligible instances or not
	eligible float64
	cpu      float64 // CPU percent times seconds
	requests float64
	netIn    float64
	netOut   float64
	// warming is how many instances were in service but still warming up
	// at the latest sample.
	warming int
}

// period is one closed datapoint, all metrics at once: they share the
// instances that were eligible, hence Missing.
type period struct {
	end       time.Time
	values    [numMetrics]float64
	instances float64 // eligible instances, time-weighted average
	warming   int     // instances warming up at the period's last sample
	missing   bool
}

// Observe adds the samples of the interval ending at now to the datapoint of
// the period containing now: a period covers (end-Period, end]. Samples of a
// period already closed by Decide are dropped, so observe before deciding at
// the same instant. A non-positive interval is ignored, and so is a negative
// or non-finite usage value (counted as 0).
func (t *Tracker) Observe(now time.Time, interval time.Duration, samples []InstanceSample) {
	if interval <= 0 {
		return
	}
	end := t.periodEnd(now)
	if t.next.IsZero() {
		t.next = end
	}
	if end.Before(t.next) {
		return
	}
	t.closeThrough(end.Add(-t.cfg.Period))

	dt := interval.Seconds()
	a := &t.acc
	a.covered += dt
	a.warming = 0
	for i := range samples {
		s := &samples[i]
		if s.InServiceSince.IsZero() {
			continue
		}
		if now.Sub(s.InServiceSince) < t.cfg.InstanceWarmup {
			a.warming++
			continue
		}
		a.eligible += dt
		a.cpu += usage(s.CPUPercent) * dt
		a.requests += usage(s.Requests)
		a.netIn += usage(s.NetIn)
		a.netOut += usage(s.NetOut)
	}
}

// usage is v if it is a usable reading, else 0: counters do not go negative,
// and one broken reading must not poison a whole datapoint.
func usage(v float64) float64 {
	if v >= 0 && !math.IsInf(v, 1) {
		return v
	}
	return 0
}

// periodEnd is the end of the period containing now: the first multiple of
// Period at or after it.
func (t *Tracker) periodEnd(now time.Time) time.Time {
	end := now.Truncate(t.cfg.Period)
	if end.Before(now) {
		end = end.Add(t.cfg.Period)
	}
	return end
}

// closeThrough closes every period ending at or before limit, the open one
// with what it accumulated and any later ones as Missing.
func (t *Tracker) closeThrough(limit time.Time) {
	if t.next.IsZero() || t.next.After(limit) {
		return
	}
	// After a long silence only the last KeptDatapoints periods would be
	// kept, all Missing: skip straight to them.
	if n := int64(limit.Sub(t.next)/t.cfg.Period) + 1; n > KeptDatapoints {
		t.acc = accumulator{}
		t.next = t.next.Add(time.Duration(n-KeptDatapoints) * t.cfg.Period)
	}
	for !t.next.After(limit) {
		t.push(t.acc.close(t.next, t.cfg.Period))
		t.acc = accumulator{}
		t.next = t.next.Add(t.cfg.Period)
	}
}

// close turns the sums into the datapoint of the period ending at end.
// Totals (requests, bytes) are per eligible instance-Period: the total
// divided by the average eligible count, scaled to a whole Period if some of
// it went unsampled.
func (a *accumulator) close(end time.Time, length time.Duration) period {
	p := period{end: end, warming: a.warming}
	if a.eligible == 0 {
		p.missing = true
		return p
	}
	perInstance := length.Seconds() / a.eligible
	p.instances = a.eligible / a.covered
	p.values[CPUUtilization.index()] = a.cpu / a.eligible
	p.values[RequestCountPerTarget.index()] = a.requests * perInstance
	p.values[NetworkIn.index()] = a.netIn * perInstance
	p.values[NetworkOut.index()] = a.netOut * perInstance
	return p
}

// push appends p to the history, dropping the oldest beyond KeptDatapoints.
func (t *Tracker) push(p period) {
	if len(t.history) == KeptDatapoints {
		copy(t.history, t.history[1:])
		t.history = t.history[:KeptDatapoints-1]
	}
	t.history = append(t.history, p)
}
