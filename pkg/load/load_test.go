package load_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/load"
)

// A load sends about rate × duration requests, each on a connection of
// its own, and counts those that fail.
func TestALoadKeepsItsRateAndCountsFailures(t *testing.T) {
	var served, conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1)%4 == 0 {
			http.Error(w, "every fourth fails", http.StatusServiceUnavailable)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	var ticks atomic.Int64
	rep, err := load.Run(context.Background(), load.Options{Addr: srv.Listener.Addr().String(), Rate: 50, For: 2 * time.Second, Concurrency: 4},
		500*time.Millisecond, func(load.Report) { ticks.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	// 50/s for 2 s is 100, within what a loaded 2-core machine keeps.
	if rep.Sent < 80 || rep.Sent > 101 {
		t.Errorf("sent %d in 2 s at 50/s; want about 100", rep.Sent)
	}
	if want := rep.Sent / 4; rep.Failed < want-1 || rep.Failed > want+1 || !strings.Contains(rep.LastError, "503") {
		t.Errorf("%d of %d failed (last error %q); want every fourth, with the status", rep.Failed, rep.Sent, rep.LastError)
	}
	if int(conns.Load()) != int(served.Load()) {
		t.Errorf("%d requests on %d connections; want one connection each", served.Load(), conns.Load())
	}
	if rep.P50 <= 0 || rep.P50 > rep.P99 || rep.P99 > rep.Max || ticks.Load() < 2 {
		t.Errorf("report %+v after %d progress reports; want ordered percentiles and a report every 500 ms", rep, ticks.Load())
	}
}

// TCP load opens and closes connections; one that nothing accepts fails.
func TestATCPLoadOpensConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	addr := ln.Addr().String()
	rep, err := load.Run(context.Background(), load.Options{Addr: addr, Mode: load.TCP, Rate: 20, For: time.Second}, 0, nil)
	if err != nil || rep.Sent < 10 || rep.Failed != 0 {
		t.Fatalf("%+v, %v; want about 20 connections, none failed", rep, err)
	}
	ln.Close()
	rep, err = load.Run(context.Background(), load.Options{Addr: addr, Mode: load.TCP, Rate: 20, For: 300 * time.Millisecond}, 0, nil)
	if err != nil || rep.Sent == 0 || rep.Failed != rep.Sent {
		t.Fatalf("to a closed port: %+v, %v; want every connection failed", rep, err)
	}
}

// A load ends with its context, sooner than its time.
func TestALoadStopsWithItsContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	began := time.Now()
	if _, err := load.Run(ctx, load.Options{Addr: srv.Listener.Addr().String(), Rate: 10, For: time.Minute}, 0, nil); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("a minute's load cancelled after 300 ms ran %s", d)
	}
}

// Load goes to loopback only, within its bounds; each refusal says why.
func TestALoadRefusesWhatIsNotLoopbackOrOutOfBounds(t *testing.T) {
	for _, c := range []struct {
		o    load.Options
		want string
	}{
		{load.Options{Addr: "10.0.2.15:80", Rate: 1, For: time.Second}, "not on loopback"},
		{load.Options{Addr: "example.com:80", Rate: 1, For: time.Second}, "not on loopback"},
		{load.Options{Addr: "127.0.0.1", Rate: 1, For: time.Second}, "HOST:PORT"},
		{load.Options{Addr: "127.0.0.1:80", Rate: 0, For: time.Second}, "rate"},
		{load.Options{Addr: "127.0.0.1:80", Rate: 5000, For: time.Second}, "rate"},
		{load.Options{Addr: "127.0.0.1:80", Rate: 1, For: time.Hour}, "duration"},
		{load.Options{Addr: "127.0.0.1:80", Rate: 1, For: time.Second, Concurrency: 1000}, "concurrency"},
		{load.Options{Addr: "127.0.0.1:80", Rate: 1, For: time.Second, Mode: "udp"}, "mode"},
	} {
		_, err := load.Run(context.Background(), c.o, 0, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v; want an error about %s", c.o, err, c.want)
		}
	}
}

func TestALoadReachesABalancerOnEveryAddressThroughLoopback(t *testing.T) {
	for listen, want := range map[string]string{"0.0.0.0:8080": "127.0.0.1:8080", "[::]:8080": "127.0.0.1:8080", "127.0.0.1:8080": "127.0.0.1:8080", "127.0.1.5:80": "127.0.1.5:80"} {
		if got := load.Loopback(listen); got != want {
			t.Errorf("Loopback(%s) = %s, want %s", listen, got, want)
		}
	}
}
