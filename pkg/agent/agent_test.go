package agent

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/health"
)

const waitFor = 10 * time.Second

// qemu stands in for QEMU's chardev: it listens on a unix socket for the
// host and hands each host connection to the guest as its port, which is
// what a virtio-serial port carries.
type qemu struct {
	ln    net.Listener
	ports chan io.ReadWriteCloser
}

func newQEMU(t *testing.T) *qemu {
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "agent.sock"))
	if err != nil {
		t.Fatal(err)
	}
	q := &qemu{ln: ln, ports: make(chan io.ReadWriteCloser)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			q.ports <- c
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return q
}

func (q *qemu) open() (io.ReadWriteCloser, error) { return <-q.ports, nil }

func (q *qemu) socket(context.Context) (string, error) { return q.ln.Addr().String(), nil }

func start(t *testing.T, allow Policy) (*Link, *Guest, *qemu) {
	t.Helper()
	q := newQEMU(t)
	g := &Guest{Open: q.open}
	ctx, cancel := context.WithCancel(context.Background())
	go g.Run(ctx)
	l := OpenLink(q.socket, LinkOptions{Allow: allow})
	t.Cleanup(func() { l.Close(); cancel() })
	return l, g, q
}

// listen serves one answer per connection on a loopback port.
func listen(t *testing.T, answer string) (int, net.Listener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, answer)
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, ln
}

func readAll(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(waitFor))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestGuestReachesOnlyAllowedHostPorts(t *testing.T) {
	allowed, _ := listen(t, "a dependency's balancer")
	forbidden, _ := listen(t, "a host database nobody opted into")
	_, g, _ := start(t, func(p int) bool { return p == allowed })
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := g.Connect(ctx, allowed)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, c); got != "a dependency's balancer" {
		t.Fatalf("read %q", got)
	}
	if c, err := g.Connect(ctx, forbidden); err == nil {
		t.Fatalf("reached forbidden port %d: %q", forbidden, readAll(t, c))
	} else if !strings.Contains(err.Error(), "not allowed") || !strings.Contains(err.Error(), strconv.Itoa(forbidden)) {
		t.Fatalf("refusal %q does not say which port and why", err)
	}
}

func TestGuestForwardCarriesAListenersConnectionsToTheHost(t *testing.T) {
	dep, _ := listen(t, "dependency answers")
	_, g, _ := start(t, func(p int) bool { return p == dep })
	c := forward(t, g, dep)
	if got := readAll(t, c); got != "dependency answers" {
		t.Fatalf("read %q", got)
	}
}

func TestLinkComesBackAfterTheChannelDrops(t *testing.T) {
	q := newQEMU(t)
	var ports []io.ReadWriteCloser
	opened := make(chan struct{}, 4)
	g := &Guest{Open: func() (io.ReadWriteCloser, error) {
		p, err := q.open()
		ports = append(ports, p)
		opened <- struct{}{}
		return p, err
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go g.Run(ctx)
	port, _ := listen(t, "still here")
	l := OpenLink(q.socket, LinkOptions{Allow: func(p int) bool { return p == port }})
	defer l.Close()
	dial := func() string {
		dctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		c, err := g.Connect(dctx, port)
		if err != nil {
			t.Fatal(err)
		}
		return readAll(t, c)
	}
	if got := dial(); got != "still here" {
		t.Fatalf("read %q", got)
	}
	<-opened
	ports[0].Close() // the daemon restarted, or QEMU's socket dropped
	if got := dial(); got != "still here" {
		t.Fatalf("after the drop read %q", got)
	}
}

func TestHealthChecksRunInsideTheGuestOnOneStream(t *testing.T) {
	l, _, _ := start(t, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			w.WriteHeader(500)
		}
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	_, closed := listen(t, "")
	closed.Close()
	gone := closed.Addr().(*net.TCPAddr).Port
	check := health.Check{Type: health.TypeHTTP, Path: "/healthz", Interval: time.Second, Timeout: waitFor, HealthyThreshold: 2, UnhealthyThreshold: 2}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := l.Probe(ctx, check, port); err != nil {
		t.Fatalf("a healthy service failed its check: %v", err)
	}
	if err := l.Probe(ctx, check, gone); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("a port with nothing behind it: %v, want the guest's refusal", err)
	}
	bad := check
	bad.Path = "/broken"
	if err := l.Probe(ctx, bad, port); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("a 500: %v", err)
	}
	first := l.probe.st
	if err := l.Probe(ctx, check, port); err != nil || l.probe.st != first {
		t.Fatalf("after failed checks the next one opened a new stream (or failed: %v)", err)
	}
}

// echo answers each connection with what it reads, until the client
// half-closes, and counts the connections it accepted.
func echo(t *testing.T) (int, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, &accepted
}

// lines is a guest log the test reads line by line.
type lines chan string

func (l lines) Write(p []byte) (int, error) {
	l <- string(p)
	return len(p), nil
}

// forward has g forward a listener's connections to host port, and
// connects to it.
func forward(t *testing.T, g *Guest, port int) net.Conn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go g.Forward(context.Background(), ln, port)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestAForwardedConnectionsBytesAndHalfCloseComeThrough(t *testing.T) {
	dep, _ := echo(t)
	_, g, _ := start(t, func(p int) bool { return p == dep })
	c := forward(t, g, dep)
	// Written at once, as the service behind a forward would.
	if _, err := io.WriteString(c, "GET / HTTP/1.0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	if got := readAll(t, c); got != "GET / HTTP/1.0\r\n\r\n" {
		t.Fatalf("echoed %q", got)
	}
}

func TestARefusedForwardClosesTheConnectionAndLogsWhy(t *testing.T) {
	forbidden, accepted := echo(t)
	q := newQEMU(t)
	log := make(lines, 16)
	g := &Guest{Open: q.open, Log: log}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go g.Run(ctx)
	l := OpenLink(q.socket, LinkOptions{Allow: func(int) bool { return false }})
	defer l.Close()
	c := forward(t, g, forbidden)
	io.WriteString(c, "the request a forbidden port must never see")
	// Closed, with an EOF or (the request left unread) a reset.
	c.SetDeadline(time.Now().Add(waitFor))
	got, err := io.ReadAll(c)
	var ne net.Error
	if len(got) > 0 || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("a refused connection read %q and stayed open: %v", got, err)
	}
	select {
	case line := <-log:
		if !strings.Contains(line, "host port "+strconv.Itoa(forbidden)) || !strings.Contains(line, "not allowed") {
			t.Fatalf("the guest's log does not say which port was refused and why: %q", line)
		}
	case <-time.After(waitFor):
		t.Fatal("the guest logged nothing of the refusal")
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("the forbidden port accepted %d connections", n)
	}
}
