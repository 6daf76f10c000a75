// Package health probes load-balancer targets the way an AWS Elastic Load
// Balancer does: a periodic TCP or HTTP check per target, with consecutive
// success and failure thresholds deciding when a target enters or leaves
// service.
package health

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/vmfleet/vmfleet/pkg/limits"
)

// Type is the kind of probe a Check performs.
type Type string

const (
	// TypeHTTP sends GET Path and expects a 200-399 answer.
	TypeHTTP Type = "http"
	// TypeTCP requires the TCP connect to succeed and the connection to
	// stay open for a short settle window (see TCPSettle).
	TypeTCP Type = "tcp"
)

// TCPSettle is how long a TCP check keeps a fresh connection open, reading,
// before it passes it. The check's Timeout caps it.
//
// A bare connect proves nothing for an instance behind QEMU's user-mode
// networking (slirp): QEMU itself listens on the forwarded host port and
// accepts every connection while it runs, whether or not anything in the
// guest listens on the guest port (the guest has crashed, is still
// booting, or its service is down). Only after accepting does QEMU try
// the guest, and when the guest refuses it closes (or resets) the accepted
// connection without a byte. So the check waits a moment after the
// connect: an EOF or a reset within the window fails it ("accepted then
// closed"); silence (the usual client-speaks-first service, waiting for a
// request) or data (a service that speaks first) passes it.
//
// Known limit: a guest whose network is not up yet does not refuse at all;
// QEMU keeps the connection open while it retries, and the check passes.
// An HTTP check has no such blind spot and is the better choice for
// instances in VMs.
const TCPSettle = 250 * time.Millisecond

// Check describes how a target is probed and how results are counted: a
// target group's health check. It is the one definition: the fleet file
// parses into it, the store keeps it, and the balancer runs it with its
// periods scaled. Zero fields mean "not set"; WithDefaults fills them in.
type Check struct {
	Type Type `json:"type"`
	// Path is the request path of an HTTP check; ignored for TCP.
	Path string `json:"path,omitempty"`
	// Interval is the time between the starts of two probes.
	Interval time.Duration `json:"interval"`
	// Timeout bounds one probe, connect included.
	Timeout time.Duration `json:"timeout"`
	// HealthyThreshold is the number of consecutive successes that put a
	// target in service.
	HealthyThreshold int `json:"healthy_threshold"`
	// UnhealthyThreshold is the number of consecutive failures that take a
	// target out of service.
	UnhealthyThreshold int `json:"unhealthy_threshold"`
}

// DefaultCheck returns the check an ALB target group gets when nothing is
// configured (see package limits): HTTP GET / every 30s, 5s timeout, 5
// successes to become healthy and 2 failures to become unhealthy.
func DefaultCheck() Check {
	return Check{
		Type:               limits.DefaultHealthType,
		Path:               limits.DefaultHealthPath,
		Interval:           limits.DefaultHealthInterval,
		Timeout:            limits.DefaultHealthTimeout,
		HealthyThreshold:   limits.DefaultHealthyThreshold,
		UnhealthyThreshold: limits.DefaultUnhealthyThreshold,
	}
}

// WithDefaults returns c with every zero field replaced by its default.
// Path is only defaulted for HTTP checks.
func (c Check) WithDefaults() Check {
	d := DefaultCheck()
	if c.Type == "" {
		c.Type = d.Type
	}
	if c.Path == "" && c.Type == TypeHTTP {
		c.Path = d.Path
	}
	if c.Interval == 0 {
		c.Interval = d.Interval
	}
	if c.Timeout == 0 {
		c.Timeout = d.Timeout
	}
	if c.HealthyThreshold == 0 {
		c.HealthyThreshold = d.HealthyThreshold
	}
	if c.UnhealthyThreshold == 0 {
		c.UnhealthyThreshold = d.UnhealthyThreshold
	}
	return c
}

// Validate reports every problem with c at once. It does not apply
// defaults: call WithDefaults first if zero fields should mean "default".
//
// Thresholds may be as low as 1 (AWS requires at least 2) so that tests and
// impatient deployments can react to a single probe. Unlike AWS, the timeout
// may exceed the interval: probes of one target never overlap, so a slow
// probe merely delays the next one.
func (c Check) Validate() error {
	var errs []error
	switch c.Type {
	case TypeHTTP:
		if !strings.HasPrefix(c.Path, "/") {
			errs = append(errs, fmt.Errorf("http check path %q must start with /", c.Path))
		}
	case TypeTCP:
	default:
		errs = append(errs, fmt.Errorf("check type %q is not %q or %q", c.Type, TypeHTTP, TypeTCP))
	}
	if c.Interval <= 0 {
		errs = append(errs, fmt.Errorf("check interval %v must be positive", c.Interval))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("check timeout %v must be positive", c.Timeout))
	}
	if c.HealthyThreshold < 1 {
		errs = append(errs, fmt.Errorf("healthy threshold %d must be at least 1", c.HealthyThreshold))
	}
	if c.UnhealthyThreshold < 1 {
		errs = append(errs, fmt.Errorf("unhealthy threshold %d must be at least 1", c.UnhealthyThreshold))
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid health check: %w", errors.Join(errs...))
	}
	return nil
}

// Probe runs one check against target (host:port) and returns nil if it
// passed. It gives up after c.Timeout or when ctx ends, whichever is first.
//
// An HTTP check passes on any status from 200 to 399. ALB's default matcher
// is 200 only; accepting redirects and other 2xx codes as well spares
// services whose "/" redirects to a login page from being marked unhealthy.
// Redirects are not followed: the target itself answered, which is what is
// being checked.
func (c Check) Probe(ctx context.Context, target string) error {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	switch c.Type {
	case TypeTCP:
		return probeTCP(ctx, target, min(c.Timeout, TCPSettle))
	case TypeHTTP:
		return probeHTTP(ctx, target, c.Path)
	default:
		return fmt.Errorf("probe %s: unknown check type %q", target, c.Type)
	}
}

// Prober runs a check against target somewhere else: a guest's agent runs
// it from inside the guest, as an ELB connects to the instance itself
// rather than to something in front of it (a port forward accepts before
// the service listens).
type Prober func(ctx context.Context, check Check, target string) error

// dial opens a probe's connection. A probe lives no longer than its
// timeout, so TCP keep-alive (three setsockopt calls per probe) buys nothing.
func dial(ctx context.Context, target string) (net.Conn, error) {
	d := net.Dialer{KeepAlive: -1}
	return d.DialContext(ctx, "tcp", target)
}

func probeTCP(ctx context.Context, target string, settle time.Duration) error {
	conn, err := dial(ctx, target)
	if err != nil {
		return fmt.Errorf("tcp check %s: %w", target, err)
	}
	defer conn.Close()

	// Read until the settle window (or the probe's own deadline) ends;
	// a cancelled ctx ends the wait at once.
	deadline := time.Now().Add(settle)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	if err := conn.SetReadDeadline(deadline); err != nil {
		return fmt.Errorf("tcp check %s: %w", target, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	n, err := conn.Read(make([]byte, 1))
	var ne net.Error
	switch {
	case n > 0:
		return nil // the service spoke first
	case errors.As(err, &ne) && ne.Timeout():
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("tcp check %s: %w", target, ctx.Err())
		}
		return nil // silent and still open: something is listening
	case errors.Is(err, io.EOF):
		return fmt.Errorf("tcp check %s: accepted then closed: nothing listening behind the forward?", target)
	default:
		return fmt.Errorf("tcp check %s: accepted then failed (%w): nothing listening behind the forward?", target, err)
	}
}

// probeHTTP sends one GET on a new connection and reads the status, as
// an ELB's check does: net/http writes the request and parses the answer,
// without a Transport, whose pool and per-connection goroutines a one-off
// probe does not need (with 20 instances the probes were most of the
// daemon's idle CPU).
func probeHTTP(ctx context.Context, target, path string) error {
	url := "http://" + target + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("http check %s: %w", url, err)
	}
	req.Header.Set("User-Agent", "vmfleet-health-checker/1")
	req.Close = true
	conn, err := dial(ctx, target)
	if err != nil {
		return fmt.Errorf("http check %s: %w", url, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if err := req.Write(conn); err != nil {
		return fmt.Errorf("http check %s: %w", url, err)
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 4<<10), req)
	if err != nil {
		return fmt.Errorf("http check %s: %w", url, err)
	}
	// Read a little so well-behaved servers don't see a reset; the body
	// itself is not part of the verdict.
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 399 {
		return fmt.Errorf("http check %s: status %d", url, resp.StatusCode)
	}
	return nil
}
