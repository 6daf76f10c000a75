package balancer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/health"
)

// waitFor bounds waits for things that should happen within milliseconds.
// It only keeps a broken test from hanging; nothing asserts on speed.
const waitFor = 10 * time.Second

// noGoroutineLeaks fails the test if the goroutine count has not settled
// back to its starting value once every other cleanup has run. Call it
// first so that its cleanup runs last.
func noGoroutineLeaks(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(waitFor)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("%d goroutines still running, %d at start:\n%s", runtime.NumGoroutine(), before, buf)
				return
			}
			time.Sleep(time.Millisecond)
		}
	})
}

// eventually polls cond until it holds, failing the test after waitFor.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func status(b *Balancer, addr string) (TargetStatus, bool) {
	for _, ts := range b.Targets() {
		if ts.Addr == addr {
			return ts, true
		}
	}
	return TargetStatus{}, false
}

func waitState(t *testing.T, b *Balancer, addr string, want health.State) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s is %v", addr, want), func() bool {
		ts, ok := status(b, addr)
		return ok && ts.State == want
	})
}

// httpCheck probes /health often; a long timeout keeps a slow probe on a
// loaded machine from counting as a failure.
var httpCheck = health.Check{Type: health.TypeHTTP, Path: "/health", Interval: 5 * time.Millisecond,
	Timeout: waitFor, HealthyThreshold: 2, UnhealthyThreshold: 2}

var tcpCheck = health.Check{Type: health.TypeTCP, Interval: 5 * time.Millisecond,
	Timeout: waitFor, HealthyThreshold: 1, UnhealthyThreshold: 2}

// startBalancer listens on a loopback port; the balancer is closed when
// the test ends.
func startBalancer(t *testing.T, opts Options) (*Balancer, string) {
	t.Helper()
	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	addr, err := b.Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return b, addr.String()
}

func register(t *testing.T, b *Balancer, addrs ...string) {
	t.Helper()
	for _, a := range addrs {
		if err := b.Register(a); err != nil {
			t.Fatal(err)
		}
	}
}

// webBackend is an HTTP server answering "/" with its name and "/health"
// with 200 or 503 as the test decides.
type webBackend struct {
	name     string
	addr     string
	sick     atomic.Bool
	requests atomic.Int64 // to "/", health checks excluded
}

func newWebBackend(t *testing.T, name string) *webBackend {
	t.Helper()
	wb := &webBackend{name: name}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			if wb.sick.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		wb.requests.Add(1)
		io.WriteString(w, wb.name)
	}))
	t.Cleanup(srv.Close)
	wb.addr = srv.Listener.Addr().String()
	return wb
}

// get sends one HTTP/1.0 request on a new connection and returns the body.
func get(addr string) (string, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(waitFor))
	if _, err := io.WriteString(conn, "GET / HTTP/1.0\r\nHost: test\r\n\r\n"); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

func mustGet(t *testing.T, addr string) string {
	t.Helper()
	body, err := get(addr)
	if err != nil {
		t.Fatalf("request through balancer: %v", err)
	}
	return body
}

// rawBackend is a TCP server speaking a line protocol. The first line of a
// connection picks the behaviour:
//
//	"name"       answer the backend's name
//	"echo TEXT"  answer "<name>: TEXT"
//	"count"      read to EOF, then answer "<name> got <n> bytes"
//	"hold"       hand the connection to the test on held
//
// A connection closed without a line (a TCP health check) is just closed.
// Its mode can make it misbehave instead (see backendMode).
type rawBackend struct {
	name string
	addr string
	held chan net.Conn
	ln   net.Listener
	mode atomic.Int32 // a backendMode
	// delay, if set, is how long it waits before answering.
	delay atomic.Int64
	// accepted counts connections, health checks included.
	accepted atomic.Int64

	mu    sync.Mutex
	conns []net.Conn
	lines []string // the first line of every connection that sent one
}

// backendMode is how a rawBackend treats a new connection. The zero mode
// speaks the line protocol.
type backendMode int32

const (
	// hangUp closes every connection as soon as it is accepted, as QEMU's
	// user-mode networking does on a forwarded port with nothing
	// listening in the guest.
	hangUp backendMode = iota + 1
	// dropRequest reads the request line and closes without answering:
	// the guest died while handling it.
	dropRequest
	// resetRequest reads the request line and resets the connection.
	resetRequest
	// drainThenClose reads until the client half-closes and closes
	// without answering.
	drainThenClose
	// greet speaks first: "hello from <name>", then answers one line
	// with "<name>: LINE".
	greet
)

func newRawBackend(t *testing.T, name string) *rawBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rb := &rawBackend{name: name, addr: ln.Addr().String(), held: make(chan net.Conn, 16), ln: ln}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			rb.accepted.Add(1)
			rb.mu.Lock()
			rb.conns = append(rb.conns, c)
			rb.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				rb.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		rb.closeConns()
		wg.Wait()
	})
	return rb
}

func (rb *rawBackend) closeConns() {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	for _, c := range rb.conns {
		c.Close()
	}
}

// kill makes the backend behave like an instance whose VM was killed
// while QEMU's port forward stays: every open connection is closed
// unanswered and new ones are accepted and closed.
func (rb *rawBackend) kill() {
	rb.mode.Store(int32(hangUp))
	rb.closeConns()
}

// seen returns the request lines the backend has read.
func (rb *rawBackend) seen() []string {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	return slices.Clone(rb.lines)
}

func (rb *rawBackend) serve(c net.Conn) {
	if rb.converse(c) {
		rb.held <- c // the test's now
		return
	}
	c.Close()
}

// converse runs one connection and reports whether the test is to hold it.
func (rb *rawBackend) converse(c net.Conn) (hold bool) {
	mode := backendMode(rb.mode.Load())
	switch mode {
	case hangUp:
		return false
	case drainThenClose:
		io.Copy(io.Discard, c)
		return false
	case greet:
		fmt.Fprintf(c, "hello from %s\n", rb.name)
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return false
	}
	line = strings.TrimSuffix(line, "\n")
	rb.mu.Lock()
	rb.lines = append(rb.lines, line)
	rb.mu.Unlock()
	switch mode {
	case dropRequest:
		return false
	case resetRequest:
		c.(*net.TCPConn).SetLinger(0)
		return false
	case greet:
		fmt.Fprintf(c, "%s: %s\n", rb.name, line)
		return false
	}
	time.Sleep(time.Duration(rb.delay.Load()))
	switch {
	case line == "name":
		fmt.Fprintf(c, "%s\n", rb.name)
	case strings.HasPrefix(line, "echo "):
		fmt.Fprintf(c, "%s: %s\n", rb.name, strings.TrimPrefix(line, "echo "))
	case line == "count":
		n, _ := io.Copy(io.Discard, r)
		fmt.Fprintf(c, "%s got %d bytes\n", rb.name, n)
	case line == "hold":
		return true
	}
	return false
}

// stop makes the backend refuse connections. The port stays bound until
// the test ends (shutdown(2) on a listening socket stops it listening on
// Linux), so that nothing else can take it over and a dial to it can never
// be given the same port as its source and connect to itself.
func (rb *rawBackend) stop(t *testing.T) {
	t.Helper()
	rc, err := rb.ln.(*net.TCPListener).SyscallConn()
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

func waitHeld(t *testing.T, rb *rawBackend) net.Conn {
	t.Helper()
	select {
	case c := <-rb.held:
		return c
	case <-time.After(waitFor):
		t.Fatalf("backend %s never received the held connection", rb.name)
		return nil
	}
}

// ask sends a line on a new connection and returns the first line of the
// answer.
func ask(addr, line string) (string, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(waitFor))
	if _, err := io.WriteString(conn, line+"\n"); err != nil {
		return "", err
	}
	answer, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("read answer to %q: %w", line, err)
	}
	return strings.TrimSpace(answer), nil
}

// hold opens a connection through addr that the backend keeps open.
func hold(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, "hold\n"); err != nil {
		t.Fatal(err)
	}
	return conn
}

// closedByPeer reports whether reading conn ends with EOF or a reset
// rather than data or a timeout.
func closedByPeer(t *testing.T, conn net.Conn) bool {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(waitFor))
	n, err := conn.Read(make([]byte, 1))
	if n > 0 {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("connection still open: read timed out")
	}
	return err != nil
}

// stuckTarget listens on a loopback port with the smallest accept queue
// and never accepts. Once fill has run, the queue is full and the kernel
// drops new SYNs, so connects hang rather than fail: a target that is up
// but hopelessly slow.
type stuckTarget struct {
	addr string
	fd   int
}

func newStuckTarget(t *testing.T) *stuckTarget {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	port := sa.(*syscall.SockaddrInet4).Port
	return &stuckTarget{addr: fmt.Sprintf("127.0.0.1:%d", port), fd: fd}
}

// fill connects until a connect no longer completes, which means the
// accept queue is full.
func (st *stuckTarget) fill(t *testing.T) {
	t.Helper()
	for range 100 {
		c, err := net.DialTimeout("tcp", st.addr, 100*time.Millisecond)
		if err != nil {
			return
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatal("accept queue of the stuck target never filled")
}

// sendHalfClosed writes "count\n" and n bytes through the balancer at lb,
// half-closes (the counting backends answer only after EOF), and returns
// all that comes back.
func sendHalfClosed(t *testing.T, lb string, n int) string {
	t.Helper()
	conn, err := net.Dial("tcp", lb)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(waitFor))
	if _, err := io.WriteString(conn, "count\n"+strings.Repeat("x", n)); err != nil {
		t.Fatal(err)
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	answer, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("reading answer after half-close: %v", err)
	}
	return string(answer)
}
