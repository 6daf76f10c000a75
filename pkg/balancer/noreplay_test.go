package balancer

import (
	"io"
	"net"
	"slices"
	"strings"
	"testing"
)

// With replay off, a request reaches one target only, even one that
// closes or resets the connection without answering: the client sees its
// connection closed, and a request that must not be processed twice (a
// payment, an order) never is.
func TestWithReplayOffARequestReachesOneTargetEvenIfItDiesUnanswered(t *testing.T) {
	for _, tt := range []struct {
		name string
		mode backendMode
	}{
		{"closed", dropRequest},
		{"reset", resetRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			noGoroutineLeaks(t)
			b, lb := startBalancer(t, Options{Check: oneProbe, NoReplay: true})
			rbs := healthyBackends(t, b, "dying", "good")
			dying, good := rbs[0], rbs[1]
			dying.mode.Store(int32(tt.mode))
			goodBefore := good.accepted.Load()

			const order = "echo POST /orders item=42"
			conn, err := net.Dial("tcp", lb)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, order+"\n"); err != nil {
				t.Fatal(err)
			}
			if !closedByPeer(t, conn) {
				t.Fatal("client got an answer; want its connection closed")
			}
			if seen := dying.seen(); !slices.Equal(seen, []string{order}) {
				t.Errorf("dying target read %q, want the order once", seen)
			}
			if n := good.accepted.Load() - goodBefore; n != 0 {
				t.Errorf("good target got %d connections after the order, want none (it read %q)", n, good.seen())
			}
			if n := replays(t, b, dying); n != 0 {
				t.Errorf("dying target has %d replays, want 0", n)
			}
		})
	}
}

func TestNegativeReplayLimitIsRefused(t *testing.T) {
	if _, err := New(Options{ReplayLimit: -1}); err == nil || !strings.Contains(err.Error(), "NoReplay") {
		t.Fatalf("New with a negative replay limit: %v, want an error pointing to NoReplay", err)
	}
}
