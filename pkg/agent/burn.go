package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmfleet/vmfleet/pkg/limits"
)

// OpBurn (host to guest) keeps the guest's vCPUs busy until the host
// closes the stream or the time asked for passes: the CPU fault (vmfleet
// fault cpu). It is the agent's own, not a command run through exec, so
// that it needs nothing of the image: the Go sample images have no shell
// to run a busy loop in.
const OpBurn Op = "burn"

// ErrNoBurn: the guest's init predates OpBurn.
var ErrNoBurn = errors.New("the guest's init cannot burn CPU (it predates vmfleet fault cpu)")

// burnRequest bounds a burn on the guest's side too: a host that goes
// away without closing the stream does not leave it burning.
type burnRequest struct {
	Seconds int `json:"seconds"`
}

// Burn starts a burn of d in the guest and returns once the guest has
// started it; closing the returned stream stops it.
func (l *Link) Burn(ctx context.Context, d time.Duration) (io.Closer, error) {
	st, err := l.Open(ctx, Header{Op: OpBurn})
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { st.Close() })
	defer stop()
	b, _ := json.Marshal(burnRequest{Seconds: int((d + time.Second - 1) / time.Second)})
	if _, err := st.Write(append(b, '\n')); err != nil {
		st.Close()
		return nil, fmt.Errorf("start a CPU burn: %w", err)
	}
	if err := readReply(st); err != nil {
		st.Close()
		if strings.Contains(err.Error(), "serves no") {
			return nil, ErrNoBurn
		}
		return nil, fmt.Errorf("start a CPU burn: %w", err)
	}
	return st, nil
}

// serveBurn runs the host's burn until the host closes st or its time
// passes.
func (g *Guest) serveBurn(ctx context.Context, st net.Conn) {
	defer st.Close()
	var req burnRequest
	if !readRequest(st, "burn", &req) {
		return
	}
	span := time.Duration(req.Seconds) * time.Second
	if span <= 0 || span > limits.MaxFaultDuration {
		reply(st, fmt.Errorf("a burn of %d s is not from 1 s to %s", req.Seconds, limits.MaxFaultDuration))
		return
	}
	ctx, cancel := context.WithTimeout(ctx, span)
	defer cancel()
	if reply(st, nil) != nil {
		return
	}
	go func() { // the host ends the burn by closing the stream
		st.Read(make([]byte, 1))
		cancel()
	}()
	g.Burn(ctx)
}

// BurnCPUs keeps every CPU busy until ctx ends: one spinning goroutine a
// CPU. The Go scheduler still preempts them, so the rest of init (its
// agent, the service's supervision) runs on, slower, as beside any
// CPU hog.
func BurnCPUs(ctx context.Context) {
	var done atomic.Bool
	stop := context.AfterFunc(ctx, func() { done.Store(true) })
	defer stop()
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Go(func() {
			for !done.Load() {
			}
		})
	}
	wg.Wait()
}
