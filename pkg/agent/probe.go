package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/vmfleet/vmfleet/pkg/health"
)

// Health checks run inside the guest, on one long-lived OpProbe stream per
// link: the host writes a probe as a JSON line and the guest, having run
// the same check against its own 127.0.0.1, answers with one. A check
// then costs one frame each way instead of a stream's opening, header,
// reply, request, answer and close, which with 20 instances was most of
// an idle daemon's CPU.

// probeRequest is one check for the guest to run.
type probeRequest struct {
	Check health.Check `json:"check"`
	Port  int          `json:"port"`
}

// probeReply is its outcome; Error is empty when it passed.
type probeReply struct {
	Error string `json:"error,omitempty"`
}

// prober is a link's probe stream, opened on first use and again after
// it breaks. One probe at a time: a target's checks never overlap.
type prober struct {
	mu  sync.Mutex
	st  net.Conn
	buf *bufio.Reader
}

// Probe runs check against port inside the guest.
func (l *Link) Probe(ctx context.Context, check health.Check, port int) error {
	l.probe.mu.Lock()
	defer l.probe.mu.Unlock()
	if l.probe.st == nil {
		st, err := l.Open(ctx, Header{Op: OpProbe})
		if err != nil {
			return err
		}
		l.probe.st, l.probe.buf = st, bufio.NewReaderSize(st, maxLine)
	}
	err := l.probe.roundTrip(ctx, probeRequest{Check: check, Port: port})
	var failed probeFailed
	if err != nil && !errors.As(err, &failed) {
		l.probe.st.Close() // the stream is broken or out of step: a new one next time
		l.probe.st = nil
	}
	return err
}

// probeFailed is a check the guest ran and that failed.
type probeFailed struct{ msg string }

func (e probeFailed) Error() string { return e.msg }

func (p *prober) roundTrip(ctx context.Context, req probeRequest) error {
	if dl, ok := ctx.Deadline(); ok {
		p.st.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { p.st.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	b, _ := json.Marshal(req)
	if _, err := p.st.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("send probe: %w", err)
	}
	line, err := p.buf.ReadSlice('\n')
	if err != nil {
		return fmt.Errorf("read probe result: %w", err)
	}
	var rep probeReply
	if err := json.Unmarshal(line, &rep); err != nil {
		return fmt.Errorf("probe result %q: %w", line, err)
	}
	if rep.Error != "" {
		return probeFailed{rep.Error}
	}
	return nil
}

// serveProbes runs the host's checks inside the guest until the stream ends.
func serveProbes(ctx context.Context, st net.Conn) {
	defer st.Close()
	r := bufio.NewReaderSize(st, maxLine)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		var req probeRequest
		rep := probeReply{}
		if err := json.Unmarshal(line, &req); err != nil {
			rep.Error = "bad probe request: " + err.Error()
		} else if err := req.Check.Probe(ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(req.Port))); err != nil {
			rep.Error = err.Error()
		}
		b, _ := json.Marshal(rep)
		if _, err := st.Write(append(b, '\n')); err != nil {
			return
		}
	}
}
