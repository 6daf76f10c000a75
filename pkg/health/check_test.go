package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/limits"
)

func TestDefaultCheckMatchesALBTargetGroupDefaults(t *testing.T) {
	want := Check{
		Type:               TypeHTTP,
		Path:               "/",
		Interval:           30 * time.Second,
		Timeout:            5 * time.Second,
		HealthyThreshold:   5,
		UnhealthyThreshold: 2,
	}
	if got := DefaultCheck(); got != want {
		t.Fatalf("DefaultCheck() = %+v, want %+v", got, want)
	}
	if err := want.Validate(); err != nil {
		t.Fatalf("default check is invalid: %v", err)
	}
}

func TestWithDefaultsFillsOnlyZeroFields(t *testing.T) {
	c := Check{Type: TypeTCP, Interval: time.Second}.WithDefaults()
	want := Check{
		Type:               TypeTCP,
		Interval:           time.Second,
		Timeout:            limits.DefaultHealthTimeout,
		HealthyThreshold:   limits.DefaultHealthyThreshold,
		UnhealthyThreshold: limits.DefaultUnhealthyThreshold,
	}
	if c != want {
		t.Fatalf("got %+v, want %+v", c, want)
	}
	if got := (Check{}).WithDefaults(); got != DefaultCheck() {
		t.Fatalf("zero check with defaults = %+v, want DefaultCheck()", got)
	}
}

func TestValidateNamesEveryProblem(t *testing.T) {
	ok := DefaultCheck()
	tests := []struct {
		name  string
		edit  func(*Check)
		wants []string
	}{
		{"unknown type", func(c *Check) { c.Type = "udp" }, []string{`type "udp"`}},
		{"relative path", func(c *Check) { c.Path = "health" }, []string{`path "health"`}},
		{"zero interval", func(c *Check) { c.Interval = 0 }, []string{"interval 0s must be positive"}},
		{"negative timeout", func(c *Check) { c.Timeout = -1 }, []string{"timeout -1ns must be positive"}},
		{"zero thresholds", func(c *Check) { c.HealthyThreshold, c.UnhealthyThreshold = 0, 0 },
			[]string{"healthy threshold 0", "unhealthy threshold 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			err := c.Validate()
			if err == nil {
				t.Fatalf("Validate(%+v) = nil, want error", c)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	tcp := Check{Type: TypeTCP, Interval: time.Second, Timeout: time.Second, HealthyThreshold: 1, UnhealthyThreshold: 1}
	if err := tcp.Validate(); err != nil {
		t.Errorf("tcp check without path: %v", err)
	}
}

func TestHTTPCheckPassesOnStatus200To399Only(t *testing.T) {
	for _, tt := range []struct {
		status int
		pass   bool
	}{
		{200, true}, {204, true}, {301, true}, {302, true}, {399, true},
		{400, false}, {404, false}, {500, false}, {503, false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tt.status >= 300 && tt.status < 400 {
				// The redirect target fails: passing proves it wasn't followed.
				w.Header().Set("Location", "/broken")
			}
			w.WriteHeader(tt.status)
		}))
		err := fastCheck(TypeHTTP).Probe(context.Background(), srv.Listener.Addr().String())
		srv.Close()
		if (err == nil) != tt.pass {
			t.Errorf("status %d: Probe() = %v, want pass=%v", tt.status, err, tt.pass)
		}
		if err != nil && !strings.Contains(err.Error(), "status") {
			t.Errorf("status %d: error %q does not say which status", tt.status, err)
		}
	}
}

func TestHTTPCheckRequestsConfiguredPath(t *testing.T) {
	paths := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths <- r.URL.Path
	}))
	defer srv.Close()
	c := fastCheck(TypeHTTP)
	c.Path = "/healthz"
	if err := c.Probe(context.Background(), srv.Listener.Addr().String()); err != nil {
		t.Fatal(err)
	}
	if p := <-paths; p != "/healthz" {
		t.Fatalf("probe requested %q, want /healthz", p)
	}
}

func TestHTTPCheckFailsWhenTargetAnswersTooLate(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer srv.Close()
	defer close(release)
	c := fastCheck(TypeHTTP)
	c.Timeout = 20 * time.Millisecond
	if err := c.Probe(context.Background(), srv.Listener.Addr().String()); err == nil {
		t.Fatal("probe of a target that never answers passed")
	}
}

func TestTCPCheckPassesWhenConnectSucceedsAndPeerStaysOpen(t *testing.T) {
	ln := listen(t)
	start := time.Now()
	if err := fastCheck(TypeTCP).Probe(context.Background(), ln.Addr().String()); err != nil {
		t.Fatalf("Probe() = %v", err)
	}
	if d := time.Since(start); d < TCPSettle {
		t.Fatalf("probe of a silent peer passed after %v, before the %v settle window ended", d, TCPSettle)
	}
}

func TestTCPCheckSettleWindowIsCappedByTimeout(t *testing.T) {
	ln := listen(t)
	c := fastCheck(TypeTCP)
	c.Timeout = 20 * time.Millisecond
	start := time.Now()
	if err := c.Probe(context.Background(), ln.Addr().String()); err != nil {
		t.Fatalf("Probe() = %v: a peer silent for the whole timeout is listening", err)
	}
	if d := time.Since(start); d >= TCPSettle {
		t.Fatalf("probe with a %v timeout took %v", c.Timeout, d)
	}
}

func TestTCPCheckPassesAtOnceWhenServiceSpeaksFirst(t *testing.T) {
	ln := listenWith(t, func(c net.Conn) {
		c.Write([]byte("220 ready\r\n"))
		c.Read(make([]byte, 1)) // until the probe hangs up
		c.Close()
	})
	start := time.Now()
	if err := fastCheck(TypeTCP).Probe(context.Background(), ln.Addr().String()); err != nil {
		t.Fatalf("Probe() = %v", err)
	}
	if d := time.Since(start); d >= TCPSettle {
		t.Fatalf("probe of a service that greets took %v; the greeting should end the wait", d)
	}
}

// The peer accepts and hangs up without a byte: what QEMU's user-mode
// networking does on a forwarded port when nothing in the guest listens.
func TestTCPCheckFailsWhenAcceptedConnectionIsClosed(t *testing.T) {
	for _, tt := range []struct {
		name  string
		close func(net.Conn)
		says  string
	}{
		{"closed", func(c net.Conn) { c.Close() }, "accepted then closed"},
		// A reset this early may already fail the connect itself.
		{"reset", func(c net.Conn) { c.(*net.TCPConn).SetLinger(0); c.Close() }, "reset"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ln := listenWith(t, tt.close)
			err := fastCheck(TypeTCP).Probe(context.Background(), ln.Addr().String())
			if err == nil {
				t.Fatal("probe of a port that accepts and hangs up passed")
			}
			if !strings.Contains(err.Error(), tt.says) || !strings.Contains(err.Error(), ln.Addr().String()) {
				t.Errorf("error %q does not name the target and say %q", err, tt.says)
			}
		})
	}
}

func TestTCPCheckCancelledDuringSettleWindowReturnsAtOnce(t *testing.T) {
	ln := listen(t)
	c := fastCheck(TypeTCP)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	start := time.Now()
	err := c.Probe(ctx, ln.Addr().String())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Probe() = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d >= TCPSettle {
		t.Fatalf("cancelled probe returned after %v", d)
	}
}

func TestTCPCheckFailsOnClosedPort(t *testing.T) {
	addr := refusingAddr(t)
	err := fastCheck(TypeTCP).Probe(context.Background(), addr)
	if err == nil {
		t.Fatal("probe of a closed port passed")
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name the target", err)
	}
}

// fastCheck is a valid check with thresholds of 1 and a generous timeout,
// for probing directly.
func fastCheck(typ Type) Check {
	return Check{Type: typ, Path: "/", Interval: 5 * time.Second, Timeout: 5 * time.Second,
		HealthyThreshold: 1, UnhealthyThreshold: 1}
}

// listen returns a loopback listener that accepts connections and keeps
// them open, silent, like a service waiting for a request, until the
// client hangs up or the test ends.
func listen(t *testing.T) net.Listener {
	t.Helper()
	return listenWith(t, func(c net.Conn) {
		c.Read(make([]byte, 1))
		c.Close()
	})
}

// refusingAddr returns a loopback address that refuses connections. Its
// port stays bound (without SO_REUSEADDR) but not listening until the test
// ends, so no other listener can take it and the kernel never picks it as
// the source port of a dial to itself, which would connect.
func refusingAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}

// stopListening makes ln refuse new connections but keeps its port bound,
// for the same reason as refusingAddr. shutdown(2) on a listening socket
// does that on Linux, and ends a pending Accept.
func stopListening(t *testing.T, ln net.Listener) {
	t.Helper()
	rc, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.Shutdown(int(fd), syscall.SHUT_RD) }); err != nil {
		t.Fatal(err)
	}
	if serr != nil {
		t.Fatalf("stop listening: %v", serr)
	}
}

// listenWith listens on a loopback port and hands every accepted
// connection to serve, on its own goroutine, until the test ends; then it
// closes the listener and whatever serve left open, and waits for serve.
func listenWith(t *testing.T, serve func(net.Conn)) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln
}
