package balancer

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/health"
)

// oneProbe checks each target once, when it is registered: a target that
// starts misbehaving afterwards stays in rotation, which is the window
// replay is for (the health check takes such a target out, but only after
// a few probes).
var oneProbe = func() health.Check {
	c := tcpCheck
	c.Interval = time.Hour
	return c
}()

// healthyBackends starts raw backends, registers them in order and waits
// until all are healthy.
func healthyBackends(t *testing.T, b *Balancer, names ...string) []*rawBackend {
	t.Helper()
	var rbs []*rawBackend
	for _, name := range names {
		rb := newRawBackend(t, name)
		register(t, b, rb.addr)
		rbs = append(rbs, rb)
	}
	for _, rb := range rbs {
		waitState(t, b, rb.addr, health.Healthy)
	}
	return rbs
}

func replays(t *testing.T, b *Balancer, rb *rawBackend) int64 {
	t.Helper()
	ts, ok := status(b, rb.addr)
	if !ok {
		t.Fatalf("target %s not registered", rb.name)
	}
	return ts.Replays
}

func TestTargetThatAcceptsThenHangsUpIsReplayedOnTheNext(t *testing.T) {
	noGoroutineLeaks(t)
	b, lb := startBalancer(t, Options{Check: oneProbe})
	rbs := healthyBackends(t, b, "bad", "good")
	bad, good := rbs[0], rbs[1]
	bad.mode.Store(int32(hangUp))

	for i := range 50 {
		if got, err := ask(lb, "name"); err != nil || got != "good" {
			t.Fatalf("client %d: %q, %v; want the good target's answer", i, got, err)
		}
	}
	// The cursor moves past both targets each time, so every client
	// tried the bad one first.
	if n := replays(t, b, bad); n != 50 {
		t.Errorf("bad target has %d replays, want 50", n)
	}
	if n := replays(t, b, good); n != 0 {
		t.Errorf("good target has %d replays, want 0", n)
	}
}

func TestRequestIsReplayedWhenTargetDiesBeforeAnswering(t *testing.T) {
	for _, tt := range []struct {
		name string
		mode backendMode
	}{
		{"closed", dropRequest},
		{"reset", resetRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			noGoroutineLeaks(t)
			b, lb := startBalancer(t, Options{Check: oneProbe})
			rbs := healthyBackends(t, b, "dying", "good")
			dying, good := rbs[0], rbs[1]
			dying.mode.Store(int32(tt.mode))

			payload := strings.Repeat("0123456789", 3000) // several reads
			got, err := ask(lb, "echo "+payload)
			if err != nil {
				t.Fatalf("client saw the dying target: %v", err)
			}
			if want := "good: " + payload; got != want {
				t.Fatalf("answer of %d bytes, want the good target's echo of the %d-byte payload", len(got), len(payload))
			}
			want := []string{"echo " + payload}
			if seen := dying.seen(); !slices.Equal(seen, want) {
				t.Errorf("dying target read %d requests, want the one request", len(seen))
			}
			if seen := good.seen(); !slices.Equal(seen, want) {
				t.Errorf("good target read %d requests (%d bytes first), want the full request once", len(seen), firstLen(seen))
			}
			if n := replays(t, b, dying); n != 1 {
				t.Errorf("dying target has %d replays, want 1", n)
			}
		})
	}
}

func TestAnsweringTargetsAreNotReplayed(t *testing.T) {
	noGoroutineLeaks(t)
	b, lb := startBalancer(t, Options{Check: tcpCheck})
	rbs := healthyBackends(t, b, "a", "b")
	for range 10 {
		if _, err := ask(lb, "name"); err != nil {
			t.Fatal(err)
		}
	}
	// Past the replay phase, a request much larger than the replay limit
	// and its answer, with a half-close, on the spliced path.
	conn, err := net.Dial("tcp", lb)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(waitFor))
	payload := strings.Repeat("y", 4*DefaultReplayLimit)
	if _, err := io.WriteString(conn, "count\n"+payload); err != nil {
		t.Fatal(err)
	}
	conn.(*net.TCPConn).CloseWrite()
	answer, err := io.ReadAll(conn)
	if err != nil || !strings.HasSuffix(string(answer), fmt.Sprintf(" got %d bytes\n", len(payload))) {
		t.Fatalf("answer %q, %v", answer, err)
	}
	for _, rb := range rbs {
		if n := replays(t, b, rb); n != 0 {
			t.Errorf("target %s answered every request but has %d replays", rb.name, n)
		}
	}
	if n := len(rbs[0].seen()) + len(rbs[1].seen()); n != 11 {
		t.Errorf("targets read %d requests, want 11", n)
	}
}

func TestRequestLargerThanReplayLimitIsNotReplayed(t *testing.T) {
	for _, tt := range []struct {
		name    string
		limit   int
		request string
	}{
		{"over the limit", 1024, "echo " + strings.Repeat("z", 4096)},
		{"just over the limit", 1024, "echo " + strings.Repeat("z", 1024-len("echo "))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			noGoroutineLeaks(t)
			b, lb := startBalancer(t, Options{Check: oneProbe, ReplayLimit: tt.limit})
			rbs := healthyBackends(t, b, "dying", "good")
			dying, good := rbs[0], rbs[1]
			dying.mode.Store(int32(dropRequest))

			conn, err := net.Dial("tcp", lb)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, tt.request+"\n"); err != nil {
				t.Fatal(err)
			}
			if !closedByPeer(t, conn) {
				t.Fatal("client got an answer")
			}
			if len(good.seen()) != 0 || replays(t, b, dying) != 0 {
				t.Fatalf("request replayed: good target read %d requests, dying one has %d replays",
					len(good.seen()), replays(t, b, dying))
			}
		})
	}
}

func TestServerSpeaksFirst(t *testing.T) {
	noGoroutineLeaks(t)
	b, lb := startBalancer(t, Options{Check: oneProbe})
	greeter := newRawBackend(t, "greeter")
	greeter.mode.Store(int32(greet))
	register(t, b, greeter.addr)
	waitState(t, b, greeter.addr, health.Healthy)

	talk := func() {
		t.Helper()
		conn, err := net.Dial("tcp", lb)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(waitFor))
		r := bufio.NewReader(conn)
		// The client says nothing until greeted.
		if hello, err := r.ReadString('\n'); err != nil || hello != "hello from greeter\n" {
			t.Fatalf("greeting %q, %v", hello, err)
		}
		io.WriteString(conn, "hi\n")
		if answer, err := r.ReadString('\n'); err != nil || answer != "greeter: hi\n" {
			t.Fatalf("answer %q, %v", answer, err)
		}
	}
	talk()
	talk()
	if n := replays(t, b, greeter); n != 0 {
		t.Fatalf("greeter has %d replays", n)
	}

	// Next to a target that hangs up, the silent client's connection
	// moves on with nothing to replay.
	gone := healthyBackends(t, b, "gone")[0]
	gone.mode.Store(int32(hangUp))
	for range 4 {
		talk()
	}
	if n := replays(t, b, gone); n < 1 {
		t.Errorf("%d replays from the target that hangs up, want some", n)
	}
}

func TestHalfClosedRequestIsReplayedWithItsEOF(t *testing.T) {
	for _, tt := range []struct {
		name string
		mode backendMode
	}{
		{"target hangs up at once", hangUp},
		{"target reads the request and EOF, then closes", drainThenClose},
	} {
		t.Run(tt.name, func(t *testing.T) {
			noGoroutineLeaks(t)
			b, lb := startBalancer(t, Options{Check: oneProbe})
			rbs := healthyBackends(t, b, "dying", "good")
			dying, good := rbs[0], rbs[1]
			dying.mode.Store(int32(tt.mode))

			if answer, want := sendHalfClosed(t, lb, 30_000), "good got 30000 bytes\n"; answer != want {
				t.Fatalf("answer %q, want %q", answer, want)
			}
			if n := replays(t, b, dying); n != 1 {
				t.Errorf("dying target has %d replays, want 1", n)
			}
			if seen := good.seen(); !slices.Equal(seen, []string{"count"}) {
				t.Errorf("good target read requests %q, want one count", seen)
			}
		})
	}
}

func TestClientThatSendsNothingAndHangsUpIsNotReplayed(t *testing.T) {
	noGoroutineLeaks(t)
	b, lb := startBalancer(t, Options{Check: oneProbe})
	rbs := healthyBackends(t, b, "first", "second")
	first, second := rbs[0], rbs[1]
	// The first target closes once it sees the client's EOF: the answer
	// a client that hangs up without a word gets, not a failure.
	first.mode.Store(int32(drainThenClose))
	accepted := second.accepted.Load()

	conn, err := net.Dial("tcp", lb)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if !closedByPeer(t, conn) {
		t.Fatal("connection not closed")
	}
	if n := replays(t, b, first); n != 0 {
		t.Errorf("first target has %d replays, want 0", n)
	}
	if n := second.accepted.Load() - accepted; n != 0 {
		t.Errorf("second target got %d connections, want 0", n)
	}
}

func TestReplayedConnectionLeavesTheDrainOfItsFirstTarget(t *testing.T) {
	noGoroutineLeaks(t)
	b, lb := startBalancer(t, Options{Check: oneProbe, DeregistrationDelay: time.Hour})
	rbs := healthyBackends(t, b, "old", "new")
	old, repl := rbs[0], rbs[1]
	client := hold(t, lb)
	oldSide := waitHeld(t, old)

	deregistered := make(chan error, 1)
	go func() { deregistered <- b.Deregister(context.Background(), old.addr) }()
	eventually(t, "old target is draining", func() bool {
		ts, _ := status(b, old.addr)
		return ts.Draining && ts.ActiveConns == 1
	})

	// The old target goes away before answering: the connection is
	// replayed on the new one, and the drain has nothing left to wait for.
	oldSide.Close()
	newSide := waitHeld(t, repl)
	select {
	case err := <-deregistered:
		if err != nil {
			t.Fatalf("Deregister: %v", err)
		}
	case <-time.After(waitFor):
		t.Fatal("Deregister still waiting for a connection that moved to another target")
	}
	if ts, _ := status(b, repl.addr); ts.ActiveConns != 1 {
		t.Fatalf("new target reports %d active connections, want 1", ts.ActiveConns)
	}
	io.WriteString(newSide, "answered\n")
	newSide.Close()
	if answer, err := bufio.NewReader(client).ReadString('\n'); err != nil || answer != "answered\n" {
		t.Fatalf("client got %q, %v", answer, err)
	}
	client.Close()
	eventually(t, "new target has no connections", func() bool {
		ts, _ := status(b, repl.addr)
		return ts.ActiveConns == 0
	})

	// Draining the new target now has nothing to wait for either.
	if err := b.Deregister(context.Background(), repl.addr); err != nil {
		t.Fatal(err)
	}
}

// The fleet's acceptance test in miniature: an instance dies (its QEMU
// forward accepting and dropping, every open connection cut) while clients
// keep opening connections, and no request fails.
func TestTargetDyingUnderLoadFailsNoRequest(t *testing.T) {
	noGoroutineLeaks(t)
	b, lb := startBalancer(t, Options{Check: tcpCheck})
	rbs := healthyBackends(t, b, "a", "b", "c")
	for _, rb := range rbs {
		// In flight long enough for the kill to catch some requests.
		rb.delay.Store(int64(time.Millisecond))
	}
	victim := rbs[1]

	const clients, each = 4, 60
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	started := make(chan struct{}, clients*each)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				started <- struct{}{}
				if answer, err := ask(lb, "name"); err != nil || answer == "" {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%q, %v", answer, err))
					mu.Unlock()
				}
			}
		}()
	}
	for range clients * each / 3 {
		<-started
	}
	victim.kill()
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed, first: %s", len(failures), clients*each, failures[0])
	}
	waitState(t, b, victim.addr, health.Unhealthy)
	t.Logf("victim replays: %d", replays(t, b, victim))
}

func firstLen(s []string) int {
	if len(s) == 0 {
		return 0
	}
	return len(s[0])
}
