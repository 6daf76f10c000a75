package hypervisor

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const systemSocket = "/var/run/libvirt/libvirt-sock"

// stallProxy stands between a session and the real libvirtd. Stalled, it
// forwards nothing either way, as a libvirtd stopped with SIGSTOP; its
// socket still accepts, as the kernel accepts for a stopped libvirtd.
type stallProxy struct {
	path string
	mu   sync.Mutex
	cond *sync.Cond
	halt bool
	open int // client connections not yet closed
}

func newStallProxy(t *testing.T) *stallProxy {
	t.Helper()
	if _, err := os.Stat(systemSocket); err != nil {
		t.Skipf("no libvirtd here: %v", err)
	}
	p := &stallProxy{path: filepath.Join(t.TempDir(), "sock")}
	p.cond = sync.NewCond(&p.mu)
	ln, err := net.Listen("unix", p.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close(); p.stall(false) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("unix", systemSocket)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.open++
			p.mu.Unlock()
			var once sync.Once
			end := func() {
				once.Do(func() {
					c.Close()
					up.Close()
					p.mu.Lock()
					p.open--
					p.mu.Unlock()
				})
			}
			go p.pipe(up, c, end)
			go p.pipe(c, up, end)
		}
	}()
	return p
}

func (p *stallProxy) pipe(dst io.Writer, src io.Reader, end func()) {
	defer end()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		p.mu.Lock()
		for p.halt {
			p.cond.Wait()
		}
		p.mu.Unlock()
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *stallProxy) stall(on bool) {
	p.mu.Lock()
	p.halt = on
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *stallProxy) conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open
}

func eventually(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A stalled libvirtd costs a caller its own deadline, not more; the
// session finds the stall, drops the connection (none is left open) and
// dials again once libvirtd answers.
func TestAStalledLibvirtdFailsCallsAtTheirDeadlineAndIsDialledAgain(t *testing.T) {
	p := newStallProxy(t)
	s := Dial(context.Background(), "qemu:///system?socket="+p.path, nil)
	defer s.Close()
	if _, err := s.Domains(context.Background()); err != nil {
		t.Fatalf("list domains through the proxy: %v", err)
	}

	p.stall(true)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Domains(ctx)
	took := time.Since(start)
	if !errors.Is(err, ErrUnresponsive) || !strings.Contains(err.Error(), "libvirtd") || strings.Contains(err.Error(), "\n") {
		t.Errorf("want one line naming libvirtd as unresponsive, got %v", err)
	}
	if took > 500*time.Millisecond {
		t.Errorf("the call returned after %s, its deadline was 300ms", took)
	}
	// The probe drops the stalled connection; calls then fail at once.
	eventually(t, probeTimeout+2*time.Second, "the stalled connection dropped", func() bool { ok, _ := s.Connected(); return !ok })
	start = time.Now()
	if _, err := s.Domains(context.Background()); err == nil || !strings.Contains(err.Error(), "libvirtd") || time.Since(start) > time.Second {
		t.Errorf("a call while reconnecting: %v after %s, want an error naming libvirtd, not a wait for its deadline", err, time.Since(start))
	}

	p.stall(false)
	eventually(t, 15*time.Second, "reconnected after libvirtd answered again", func() bool { ok, _ := s.Connected(); return ok })
	if _, err := s.Domains(context.Background()); err != nil {
		t.Errorf("list domains after the stall: %v", err)
	}
	eventually(t, 2*time.Second, "only the new connection open", func() bool { return p.conns() == 1 })
}

// Connect gives up at its deadline on a libvirtd that accepts but never
// answers, and closes the socket it opened.
func TestConnectGivesUpOnAStalledLibvirtdAndClosesItsSocket(t *testing.T) {
	p := newStallProxy(t)
	p.stall(true)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := Connect(ctx, "qemu:///system?socket="+p.path); err == nil || !strings.Contains(err.Error(), "libvirtd") {
		t.Errorf("want an error naming libvirtd, got %v", err)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("Connect returned after %s, its deadline was 300ms", took)
	}
	p.stall(false)
	eventually(t, 2*time.Second, "the abandoned socket closed", func() bool { return p.conns() == 0 })
}
