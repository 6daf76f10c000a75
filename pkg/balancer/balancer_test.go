package balancer

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/health"
)

func TestRoundRobinGivesEachHealthyTargetATurn(t *testing.T) {
	noGoroutineLeaks(t)
	b, lb := startBalancer(t, Options{Check: httpCheck})
	names := map[string]bool{}
	for _, name := range []string{"alpha", "bravo", "charlie"} {
		wb := newWebBackend(t, name)
		register(t, b, wb.addr)
		waitState(t, b, wb.addr, health.Healthy)
		names[name] = true
	}

	var got []string
	for range 9 {
		got = append(got, mustGet(t, lb))
	}
	for i, name := range got {
		if !names[name] {
			t.Fatalf("answer %d is %q, not a backend name", i, name)
		}
		if i >= 3 && name != got[i-3] {
			t.Fatalf("answers %v do not repeat with period 3", got)
		}
	}
	if got[0] == got[1] || got[1] == got[2] || got[0] == got[2] {
		t.Fatalf("first three answers %v are not three distinct backends", got[:3])
	}
}

func TestTargetGetsNoConnectionsUntilHealthy(t *testing.T) {
	noGoroutineLeaks(t)
	b, lb := startBalancer(t, Options{Check: httpCheck})
	up := newWebBackend(t, "up")
	late := newWebBackend(t, "late")
	late.sick.Store(true)
	register(t, b, up.addr, late.addr)
	waitState(t, b, up.addr, health.Healthy)
	// The sick target is still being checked: initial, or already unhealthy.
	if ts, _ := status(b, late.addr); ts.State == health.Healthy {
		t.Fatalf("target failing its health check is %v", ts.State)
	}

	for range 4 {
		if got := mustGet(t, lb); got != "up" {
			t.Fatalf("request answered by %q before it was healthy", got)
		}
	}
	if n := late.requests.Load(); n != 0 {
		t.Fatalf("target not yet healthy received %d requests", n)
	}

	late.sick.Store(false)
	waitState(t, b, late.addr, health.Healthy)
	seen := map[string]bool{}
	for range 2 {
		seen[mustGet(t, lb)] = true
	}
	if !seen["late"] || !seen["up"] {
		t.Fatalf("after becoming healthy, two requests reached %v, want both targets", seen)
	}
}

func TestUnhealthyTargetLeavesRotationAndReturnsWhenHealthy(t *testing.T) {
	noGoroutineLeaks(t)
	var mu sync.Mutex
	var transitions []health.Transition
	b, lb := startBalancer(t, Options{Check: httpCheck, OnTransition: func(tr health.Transition) {
		mu.Lock()
		transitions = append(transitions, tr)
		mu.Unlock()
	}})
	a, flaky, c := newWebBackend(t, "a"), newWebBackend(t, "flaky"), newWebBackend(t, "c")
	register(t, b, a.addr, flaky.addr, c.addr)
	for _, wb := range []*webBackend{a, flaky, c} {
		waitState(t, b, wb.addr, health.Healthy)
	}

	flaky.sick.Store(true)
	waitState(t, b, flaky.addr, health.Unhealthy)
	before := flaky.requests.Load()
	seen := map[string]int{}
	for range 6 {
		seen[mustGet(t, lb)]++
	}
	if flaky.requests.Load() != before || seen["a"] != 3 || seen["c"] != 3 {
		t.Fatalf("with flaky unhealthy, 6 requests went %v, want 3 each to a and c", seen)
	}

	flaky.sick.Store(false)
	waitState(t, b, flaky.addr, health.Healthy)
	seen = map[string]int{}
	for range 3 {
		seen[mustGet(t, lb)]++
	}
	if seen["flaky"] != 1 {
		t.Fatalf("after recovery, 3 requests went %v, want one to each target", seen)
	}

	mu.Lock()
	defer mu.Unlock()
	var flakyMoves []string
	for _, tr := range transitions {
		if tr.Target == flaky.addr {
			flakyMoves = append(flakyMoves, tr.From.String()+">"+tr.To.String())
			if tr.To == health.Unhealthy && !strings.Contains(tr.Reason, "503") {
				t.Errorf("unhealthy transition reason %q does not carry the failing status", tr.Reason)
			}
		}
	}
	want := "initial>healthy healthy>unhealthy unhealthy>healthy"
	if got := strings.Join(flakyMoves, " "); got != want {
		t.Fatalf("reported transitions for flaky: %q, want %q", got, want)
	}
}

func TestRefusedConnectIsRetriedOnNextTargetAndRotationMovesOn(t *testing.T) {
	noGoroutineLeaks(t)
	// Check once an hour: after the first probe, the dead target stays
	// "healthy" as far as the balancer knows, which is the window this
	// test is about.
	slow := tcpCheck
	slow.Interval = time.Hour
	b, lb := startBalancer(t, Options{Check: slow})
	a, dead, c := newRawBackend(t, "a"), newRawBackend(t, "dead"), newRawBackend(t, "c")
	register(t, b, a.addr, dead.addr, c.addr)
	for _, rb := range []*rawBackend{a, dead, c} {
		waitState(t, b, rb.addr, health.Healthy)
	}
	dead.stop(t)

	var got []string
	for range 6 {
		answer, err := ask(lb, "name")
		if err != nil {
			t.Fatalf("client saw the failed connect: %v", err)
		}
		got = append(got, answer)
	}
	if want := "a c a c a c"; strings.Join(got, " ") != want {
		t.Fatalf("answers %v, want %q: the refused target skipped and the turn passed on", got, want)
	}
	if ts, _ := status(b, dead.addr); ts.State != health.Healthy {
		t.Fatalf("a refused connect changed the target's state to %v; that is the checker's call", ts.State)
	}

	// With every "healthy" target refusing, the client is turned away.
	a.stop(t)
	c.stop(t)
	conn, err := net.Dial("tcp", lb)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if !closedByPeer(t, conn) {
		t.Fatal("client connection not closed when every target refused")
	}
}

func TestConnectTimeoutMovesOnToNextTarget(t *testing.T) {
	noGoroutineLeaks(t)
	slow := tcpCheck
	slow.Interval = time.Hour // keep the stuck target "healthy"
	b, lb := startBalancer(t, Options{Check: slow, ConnectTimeout: 50 * time.Millisecond})
	stuck, good := newStuckTarget(t), newRawBackend(t, "good")
	register(t, b, stuck.addr, good.addr)
	waitState(t, b, stuck.addr, health.Healthy)
	waitState(t, b, good.addr, health.Healthy)
	stuck.fill(t)

	for range 3 {
		if got, err := ask(lb, "name"); err != nil || got != "good" {
			t.Fatalf("request with one target not answering connects: %q, %v", got, err)
		}
	}
	if ts, _ := status(b, stuck.addr); ts.State != health.Healthy {
		t.Fatalf("a connect timeout changed the target's state to %v; that is the checker's call", ts.State)
	}
}

func TestClientIsDisconnectedWhenNoTargetIsHealthy(t *testing.T) {
	noGoroutineLeaks(t)
	b, lb := startBalancer(t, Options{Check: httpCheck})
	sick := newWebBackend(t, "sick")
	sick.sick.Store(true)
	register(t, b, sick.addr)
	waitState(t, b, sick.addr, health.Unhealthy)

	for _, name := range []string{"unhealthy target only", "no target at all"} {
		conn, err := net.Dial("tcp", lb)
		if err != nil {
			t.Fatal(err)
		}
		if !closedByPeer(t, conn) {
			t.Fatalf("%s: client connection was not closed", name)
		}
		conn.Close()
		if err := b.Deregister(context.Background(), sick.addr); err != nil && !errors.Is(err, ErrUnknownTarget) {
			t.Fatal(err)
		}
	}
	if n := sick.requests.Load(); n != 0 {
		t.Fatalf("unhealthy target received %d requests", n)
	}
}

func TestDrainingTargetFinishesInFlightConnectionAndGetsNoNewOnes(t *testing.T) {
	noGoroutineLeaks(t)
	b, lb := startBalancer(t, Options{Check: tcpCheck, DeregistrationDelay: time.Hour})
	old, repl := newRawBackend(t, "old"), newRawBackend(t, "new")
	register(t, b, old.addr)
	waitState(t, b, old.addr, health.Healthy)
	client := hold(t, lb)
	backendSide := waitHeld(t, old)

	register(t, b, repl.addr)
	waitState(t, b, repl.addr, health.Healthy)
	deregistered := make(chan error, 1)
	go func() { deregistered <- b.Deregister(context.Background(), old.addr) }()
	eventually(t, "old target is draining", func() bool {
		ts, _ := status(b, old.addr)
		return ts.Draining
	})
	if ts, _ := status(b, old.addr); ts.ActiveConns != 1 {
		t.Fatalf("draining target reports %d active connections, want 1", ts.ActiveConns)
	}

	for range 4 {
		if got, err := ask(lb, "name"); err != nil || got != "new" {
			t.Fatalf("new connection while draining: %q, %v; want the other target", got, err)
		}
	}
	select {
	case err := <-deregistered:
		t.Fatalf("Deregister returned (%v) with a connection in flight", err)
	default:
	}

	// The in-flight exchange still works both ways and completes.
	io.WriteString(backendSide, "finished\n")
	backendSide.Close()
	answer, err := bufio.NewReader(client).ReadString('\n')
	if err != nil || answer != "finished\n" {
		t.Fatalf("in-flight connection got %q, %v", answer, err)
	}
	client.Close()
	select {
	case err := <-deregistered:
		if err != nil {
			t.Fatalf("Deregister: %v", err)
		}
	case <-time.After(waitFor):
		t.Fatal("Deregister did not return after the last connection finished")
	}
	if _, ok := status(b, old.addr); ok {
		t.Fatal("deregistered target still listed")
	}
}

func TestDrainingCutsConnectionsStillOpenAfterDelay(t *testing.T) {
	noGoroutineLeaks(t)
	b, lb := startBalancer(t, Options{Check: tcpCheck, DeregistrationDelay: 20 * time.Millisecond})
	slow := newRawBackend(t, "slow")
	register(t, b, slow.addr)
	waitState(t, b, slow.addr, health.Healthy)
	client := hold(t, lb)
	backendSide := waitHeld(t, slow)

	if err := b.Deregister(context.Background(), slow.addr); err != nil {
		t.Fatalf("Deregister: %v", err)
	}
	if !closedByPeer(t, client) {
		t.Fatal("client side of the connection survived the deregistration delay")
	}
	if !closedByPeer(t, backendSide) {
		t.Fatal("backend side of the connection survived the deregistration delay")
	}
	if len(b.Targets()) != 0 {
		t.Fatalf("targets after deregistration: %+v", b.Targets())
	}
}

func TestDeregisterCutShortByContextStillRemovesTarget(t *testing.T) {
	noGoroutineLeaks(t)
	b, lb := startBalancer(t, Options{Check: tcpCheck, DeregistrationDelay: time.Hour})
	rb := newRawBackend(t, "rb")
	register(t, b, rb.addr)
	waitState(t, b, rb.addr, health.Healthy)
	client := hold(t, lb)
	waitHeld(t, rb)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Deregister(ctx, rb.addr); !errors.Is(err, context.Canceled) {
		t.Fatalf("Deregister with cancelled context: %v, want context.Canceled", err)
	}
	if !closedByPeer(t, client) {
		t.Fatal("connection survived a cut-short drain")
	}
	if len(b.Targets()) != 0 {
		t.Fatalf("targets after deregistration: %+v", b.Targets())
	}
}

func TestHalfClosePassesThrough(t *testing.T) {
	noGoroutineLeaks(t)
	b, lb := startBalancer(t, Options{Check: tcpCheck})
	rb := newRawBackend(t, "rb")
	register(t, b, rb.addr)
	waitState(t, b, rb.addr, health.Healthy)

	if answer, want := sendHalfClosed(t, lb, 100_000), "rb got 100000 bytes\n"; answer != want {
		t.Fatalf("answer %q, want %q", answer, want)
	}
}

func TestListenWithoutHostBindsLoopback(t *testing.T) {
	noGoroutineLeaks(t)
	b, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	addr, err := b.Listen(context.Background(), ":0")
	if err != nil {
		t.Fatal(err)
	}
	if ip := addr.(*net.TCPAddr).IP; !ip.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Fatalf(`Listen(":0") bound %v, want 127.0.0.1`, ip)
	}
}

func TestCloseStopsListenersConnectionsAndChecks(t *testing.T) {
	noGoroutineLeaks(t)
	b, lb := startBalancer(t, Options{Check: tcpCheck})
	rb := newRawBackend(t, "rb")
	register(t, b, rb.addr)
	waitState(t, b, rb.addr, health.Healthy)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- b.Serve(context.Background(), ln) }()
	viaListen := hold(t, lb)
	waitHeld(t, rb)
	viaServe := hold(t, ln.Addr().String())
	waitHeld(t, rb)

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if !closedByPeer(t, viaListen) || !closedByPeer(t, viaServe) {
		t.Fatal("proxied connection survived Close")
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve after Close: %v", err)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("listener after Close: Accept = %v, want net.ErrClosed", err)
	}
	// The listener started by Listen is covered by the goroutine check:
	// its accept loop would still be running.
	if err := b.Register("127.0.0.1:1"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Register after Close: %v, want ErrClosed", err)
	}
	if _, err := b.Listen(context.Background(), "127.0.0.1:0"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Listen after Close: %v, want ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestServeReturnsWhenContextIsCancelled(t *testing.T) {
	noGoroutineLeaks(t)
	b, err := New(Options{Check: tcpCheck})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rb := newRawBackend(t, "rb")
	register(t, b, rb.addr)
	waitState(t, b, rb.addr, health.Healthy)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- b.Serve(ctx, ln) }()
	client := hold(t, ln.Addr().String())
	waitHeld(t, rb)

	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve after cancel: %v", err)
		}
	case <-time.After(waitFor):
		t.Fatal("Serve did not return after its context was cancelled")
	}
	if !closedByPeer(t, client) {
		t.Fatal("connection accepted by Serve survived its context")
	}
}

func TestRegisterRejectsBadAddressesAndIgnoresDuplicates(t *testing.T) {
	noGoroutineLeaks(t)
	b, _ := startBalancer(t, Options{Check: tcpCheck})
	if err := b.Register("no-port"); err == nil {
		t.Fatal("Register accepted an address without a port")
	}
	rb := newRawBackend(t, "rb")
	register(t, b, rb.addr, rb.addr)
	if n := len(b.Targets()); n != 1 {
		t.Fatalf("registering twice listed %d targets, want 1", n)
	}
	if err := b.Deregister(context.Background(), "127.0.0.1:1"); !errors.Is(err, ErrUnknownTarget) {
		t.Fatalf("Deregister of unknown target: %v, want ErrUnknownTarget", err)
	}
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	if _, err := New(Options{Check: health.Check{Type: "icmp"}}); err == nil {
		t.Fatal("New accepted an invalid check type")
	}
	if _, err := New(Options{ConnectTimeout: -time.Second}); err == nil {
		t.Fatal("New accepted a negative connect timeout")
	}
}

func TestTransitionCallbackMayDeregisterTheTarget(t *testing.T) {
	noGoroutineLeaks(t)
	// The fleet controller's pattern: replace an instance as soon as it
	// turns unhealthy, from inside the callback.
	deregistered := make(chan error, 1)
	var b *Balancer
	b, _ = startBalancer(t, Options{Check: httpCheck, DeregistrationDelay: time.Hour,
		OnTransition: func(tr health.Transition) {
			if tr.To == health.Unhealthy {
				deregistered <- b.Deregister(context.Background(), tr.Target)
			}
		}})
	wb := newWebBackend(t, "wb")
	register(t, b, wb.addr)
	waitState(t, b, wb.addr, health.Healthy)
	wb.sick.Store(true)
	select {
	case err := <-deregistered:
		if err != nil {
			t.Fatalf("Deregister from callback: %v", err)
		}
	case <-time.After(waitFor):
		t.Fatal("callback never deregistered the unhealthy target")
	}
	if n := len(b.Targets()); n != 0 {
		t.Fatalf("%d targets left after deregistration from callback", n)
	}
}

func TestAnAdoptedTargetServesAtOnceAndLeavesWhenItFails(t *testing.T) {
	var transitions = make(chan health.Transition, 8)
	check := health.Check{Type: health.TypeTCP, Interval: time.Hour, Timeout: time.Second, HealthyThreshold: 2, UnhealthyThreshold: 1}
	b, err := New(Options{Check: check, OnTransition: func(tr health.Transition) { transitions <- tr }})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	live, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if err := b.RegisterHealthy(live.Addr().String()); err != nil {
		t.Fatal(err)
	}
	if ts := b.Targets(); len(ts) != 1 || ts[0].State != health.Healthy {
		t.Fatalf("adopted target not in service at once: %+v", ts)
	}
	// A port nothing listens on: the first probe fails.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if err := b.RegisterHealthy(addr); err != nil {
		t.Fatal(err)
	}
	select {
	case tr := <-transitions:
		if tr.From != health.Healthy || tr.To != health.Unhealthy {
			t.Fatalf("transition %v -> %v, want healthy -> unhealthy", tr.From, tr.To)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an adopted target that fails its check was never taken out")
	}
}

func TestShutdownLetsAConnectionInFlightFinishAndAcceptsNoNewOne(t *testing.T) {
	backend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	go func() {
		for {
			c, err := backend.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 5)
				if _, err := io.ReadFull(c, buf); err != nil {
					return // a health check
				}
				time.Sleep(500 * time.Millisecond) // still answering when Shutdown starts
				c.Write([]byte("answer"))
			}()
		}
	}()
	b, err := New(Options{Check: tcpCheck})
	if err != nil {
		t.Fatal(err)
	}
	register(t, b, backend.Addr().String())
	waitState(t, b, backend.Addr().String(), health.Healthy)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Start(context.Background(), ln); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hello"))
	time.Sleep(100 * time.Millisecond) // the request is with the backend
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shut <- b.Shutdown(ctx)
	}()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, _ := io.ReadAll(c)
	if string(got) != "answer" {
		t.Errorf("the connection in flight got %q, want the whole answer", got)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if c2, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		c2.Close()
		t.Error("the balancer still accepts after Shutdown")
	}
}

// A connection accepted before Shutdown and still dialing its target when
// Shutdown begins is in flight too: it reaches a target (once in CI, a
// daemon upgrade reset one request of 88 this way).
func TestShutdownLetsAConnectionStillDialingReachItsTarget(t *testing.T) {
	slow := tcpCheck
	slow.Interval = time.Hour // keep the stuck target "healthy"
	b, lb := startBalancer(t, Options{Check: slow, ConnectTimeout: 500 * time.Millisecond})
	stuck, good := newStuckTarget(t), newRawBackend(t, "good")
	register(t, b, stuck.addr, good.addr) // rotation tries stuck first
	waitState(t, b, stuck.addr, health.Healthy)
	waitState(t, b, good.addr, health.Healthy)
	stuck.fill(t)
	answer := make(chan string, 1)
	go func() {
		got, err := ask(lb, "name")
		if err != nil {
			got = err.Error()
		}
		answer <- got
	}()
	time.Sleep(200 * time.Millisecond) // accepted; dialing the stuck target
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shut <- b.Shutdown(ctx)
	}()
	if got := <-answer; got != "good" {
		t.Errorf("the connection that was dialing when Shutdown began got %q, want the good target's answer", got)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func TestATargetCountsItsConnectionsAndBytesBothWays(t *testing.T) {
	backend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	go func() {
		for {
			c, err := backend.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 7)
				if _, err := io.ReadFull(c, buf); err == nil {
					c.Write([]byte("twelve bytes"))
				}
			}()
		}
	}()
	b, addr := startBalancer(t, Options{Check: tcpCheck})
	register(t, b, backend.Addr().String())
	waitState(t, b, backend.Addr().String(), health.Healthy)
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("request"))
		io.ReadAll(c)
		c.Close()
	}
	eventually(t, "the counts of three finished connections", func() bool {
		st, _ := status(b, backend.Addr().String())
		return st.Connections == 3 && st.BytesIn == 3*7 && st.BytesOut == 3*12 && st.ActiveConns == 0
	})
	if st, _ := status(b, backend.Addr().String()); st.Reason != "" {
		t.Errorf("a healthy target has reason %q", st.Reason)
	}
}
