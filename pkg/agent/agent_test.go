package agent

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

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

func start(t *testing.T) (*Link, *Guest, *qemu) {
	t.Helper()
	q := newQEMU(t)
	g := &Guest{Open: q.open}
	ctx, cancel := context.WithCancel(context.Background())
	go g.Run(ctx)
	l := OpenLink(q.socket, LinkOptions{})
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

func TestTheHostServesNoStreamTheGuestOpens(t *testing.T) {
	q := newQEMU(t)
	l := OpenLink(q.socket, LinkOptions{})
	defer l.Close()
	// A guest that does not keep to the protocol: its own yamux end.
	port, _ := q.open()
	defer port.Close()
	sess, err := yamux.Server(&frames{ReadWriteCloser: port}, sessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	st, err := sess.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// What a guest once sent to reach a host port through the channel.
	io.WriteString(st, `{"op":"connect","port":22}`+"\n")
	st.SetDeadline(time.Now().Add(waitFor))
	if err := readReply(st); err == nil || !strings.Contains(err.Error(), "serves no streams") {
		t.Fatalf("a guest's stream was answered %v, want a refusal", err)
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
	l := OpenLink(q.socket, LinkOptions{})
	defer l.Close()
	check := health.Check{Type: health.TypeTCP, Interval: time.Second, Timeout: waitFor, HealthyThreshold: 2, UnhealthyThreshold: 2}
	probe := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		return l.Probe(ctx, check, port)
	}
	if err := probe(); err != nil {
		t.Fatal(err)
	}
	<-opened
	ports[0].Close() // the daemon restarted, or QEMU's socket dropped
	// The stream the probes kept died with the session: one probe may
	// fail on it; the link comes back for the next.
	deadline := time.Now().Add(waitFor)
	err := probe()
	for err != nil && time.Now().Before(deadline) {
		err = probe()
	}
	if err != nil {
		t.Fatalf("after the drop: %v", err)
	}
	select {
	case <-opened:
	case <-time.After(waitFor):
		t.Fatal("the guest did not open its port again after the drop")
	}
}

func TestHealthChecksRunInsideTheGuestOnOneStream(t *testing.T) {
	l, _, _ := start(t)
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
