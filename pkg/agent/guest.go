package agent

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/hashicorp/yamux"
)

// Guest is the guest's end of the channel, run by init.
type Guest struct {
	// Open opens the port; FindPort's path in a real guest.
	Open func() (io.ReadWriteCloser, error)
	// Exec serves an OpExec stream; nil refuses them.
	Exec func(ctx context.Context, conn net.Conn)
	// SetClock sets the guest's wall clock (OpClock); nil refuses.
	SetClock func(time.Time) error
	// Burn keeps the guest's CPUs busy until ctx ends (OpBurn; BurnCPUs
	// in a real guest); nil refuses.
	Burn func(ctx context.Context)
	// Log receives one line per session change; nil discards.
	Log io.Writer
}

// FindPort finds the device of the virtio-serial port called name.
func FindPort(sys, name string) (string, error) {
	names, _ := filepath.Glob(filepath.Join(sys, "class/virtio-ports/*/name"))
	for _, p := range names {
		b, err := os.ReadFile(p)
		if err == nil && strings.TrimSpace(string(b)) == name {
			return "/dev/" + filepath.Base(filepath.Dir(p)), nil
		}
	}
	return "", fmt.Errorf("no virtio-serial port named %s", name)
}

// How often a guest looks for a host that is not connected: soon after
// one left (a daemon restarting), at most a second apart after that.
const (
	minIdlePoll = 25 * time.Millisecond
	maxIdlePoll = time.Second
)

// Run serves sessions until ctx ends: a new one each time the host
// connects again, on a freshly opened port, so no byte of a dead session
// leaks into the next.
func (g *Guest) Run(ctx context.Context) {
	// Sleeps double from 2×minIdlePoll, as each short session ends.
	idle := &backoff.ExponentialBackOff{InitialInterval: 2 * minIdlePoll, Multiplier: 2, MaxInterval: maxIdlePoll}
	for ctx.Err() == nil {
		port, err := g.Open()
		if err != nil {
			g.logf("open agent port: %v", err)
			sleep(ctx, time.Second)
			continue
		}
		sess, err := yamux.Server(&frames{ReadWriteCloser: port}, sessionConfig())
		if err != nil {
			port.Close()
			sleep(ctx, time.Second)
			continue
		}
		began := time.Now()
		g.accept(ctx, sess)
		sess.Close()
		port.Close()
		// A port with no host reads as EOF at once, and nothing tells
		// the guest when one connects: poll, ever slower while none does.
		if time.Since(began) < maxIdlePoll {
			sleep(ctx, idle.NextBackOff())
		} else {
			idle.Reset()
			sleep(ctx, minIdlePoll)
		}
	}
}

func (g *Guest) logf(format string, args ...any) {
	if g.Log != nil {
		fmt.Fprintf(g.Log, "vmfleet-init: "+format+"\n", args...)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func (g *Guest) accept(ctx context.Context, sess *yamux.Session) {
	stop := context.AfterFunc(ctx, func() { sess.Close() })
	defer stop()
	for {
		st, err := sess.AcceptStream()
		if err != nil {
			return
		}
		go g.serve(ctx, st)
	}
}

func (g *Guest) serve(ctx context.Context, st net.Conn) {
	h, err := readHeader(st)
	if err != nil {
		st.Close()
		return
	}
	switch {
	case h.Op == OpWatch:
		serveWatch(ctx, st)
	case h.Op == OpProbe:
		serveProbes(ctx, st)
	case h.Op == OpExec && g.Exec != nil:
		g.Exec(ctx, st)
	case h.Op == OpClock && g.SetClock != nil:
		g.serveClock(st)
	case h.Op == OpBurn && g.Burn != nil:
		g.serveBurn(ctx, st)
	default:
		reply(st, fmt.Errorf("the guest serves no %q streams", h.Op))
		st.Close()
	}
}
