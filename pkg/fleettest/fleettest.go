// Package fleettest brings a fleet up for a Go test and takes it down
// when the test ends: the harness a CI suite uses to run its services as
// VMs behind balancers, through the same client the CLI uses.
//
//	func TestCheckout(t *testing.T) {
//		f := fleettest.Up(t, "fleet.yaml")
//		resp, err := http.Get("http://" + f.Addr("web") + "/checkout")
//		...
//	}
package fleettest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/client"
	"github.com/vmfleet/vmfleet/pkg/home"
)

// Fleet is a fleet in service for one test.
type Fleet struct {
	Name string
	// Addrs are the balancers' addresses by service.
	Addrs  map[string]string
	Client *client.Client
	// Changes are what the apply did.
	Changes []api.Change
}

// Addr is a service's balancer address, failing the test for a service
// the fleet lacks.
func (f *Fleet) Addr(service string) string {
	a, ok := f.Addrs[service]
	if !ok {
		panic(fmt.Sprintf("fleettest: fleet %s has no service %q", f.Name, service))
	}
	return a
}

type options struct {
	home, binary, uri string
	wait, grace       time.Duration
	keep              bool
}

// Option changes how Up works.
type Option func(*options)

// WithHome uses another vmfleet home (default: $VMFLEET_HOME, else the
// user's default home).
func WithHome(dir string) Option { return func(o *options) { o.home = dir } }

// WithBinary names the vmfleet executable that runs the daemon when none
// runs yet (default: $VMFLEET_BIN, else vmfleet on PATH).
func WithBinary(path string) Option { return func(o *options) { o.binary = path } }

// WithWaitTimeout bounds the wait for every instance to be in service
// (default 5 minutes).
func WithWaitTimeout(d time.Duration) Option { return func(o *options) { o.wait = d } }

// Keep leaves the fleet running after the test (for debugging).
func Keep() Option { return func(o *options) { o.keep = true } }

// Up applies the fleet file, waits until every service has its count in
// service, and registers a Cleanup that drains and removes the fleet.
func Up(t testing.TB, file string, opts ...Option) *Fleet {
	t.Helper()
	o := options{home: os.Getenv("VMFLEET_HOME"), binary: os.Getenv("VMFLEET_BIN"), wait: 5 * time.Minute, grace: 10 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	if o.home == "" {
		o.home = home.Default()
	}
	if o.binary == "" {
		p, err := exec.LookPath("vmfleet")
		if err != nil {
			t.Fatalf("fleettest: no vmfleet on PATH; install it (go install ./cmd/vmfleet) or set VMFLEET_BIN")
		}
		o.binary = p
	}
	h, err := home.Prepare(o.home)
	if err != nil {
		t.Fatalf("fleettest: %v", err)
	}
	req, err := client.ReadFleet(file)
	if err != nil {
		t.Fatalf("fleettest: %v", err)
	}
	ctx := context.Background()
	cl, _, err := client.Ensure(ctx, client.Daemon{Socket: h.Socket(), Binary: o.binary,
		Args: []string{"--home", h.Dir}, Log: h.DaemonLog()})
	if err != nil {
		t.Fatalf("fleettest: %v", err)
	}
	res, err := cl.Apply(ctx, req)
	if err != nil {
		t.Fatalf("fleettest: up %s: %v", file, err)
	}
	f := &Fleet{Name: res.Fleet, Client: cl, Changes: res.Changes, Addrs: map[string]string{}}
	if !o.keep {
		t.Cleanup(func() {
			if err := cl.Down(context.Background(), res.Fleet, o.grace); err != nil {
				t.Errorf("fleettest: down %s: %v", res.Fleet, err)
			}
		})
	}
	st, err := cl.Wait(ctx, res.Fleet, o.wait)
	if err != nil {
		t.Fatalf("fleettest: fleet %s: %v", res.Fleet, err)
	}
	for _, s := range st.Services {
		f.Addrs[s.Name] = s.Listen
	}
	return f
}
