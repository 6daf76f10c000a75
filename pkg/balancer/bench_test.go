package balancer

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/health"
)

// Each benchmark runs the same client loop twice: straight to a loopback
// backend ("direct") and through a balancer in front of that backend
// ("balancer"), so the difference is the balancer's cost.

const bulkSize = 64 << 20

func BenchmarkRequests(b *testing.B) {
	// A new TCP connection per request, like ab without -k.
	backend := startHTTPBackend(b)
	for _, path := range benchPaths(b, backend) {
		b.Run(path.name, func(b *testing.B) {
			req := []byte("GET / HTTP/1.0\r\nHost: bench\r\n\r\n")
			buf := make([]byte, 4<<10)
			lat := make([]time.Duration, 0, 1<<16)
			for b.Loop() {
				start := time.Now()
				conn, err := net.Dial("tcp", path.addr)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := conn.Write(req); err != nil {
					b.Fatal(err)
				}
				n, err := readAll(conn, buf)
				if err != nil || n == 0 {
					b.Fatalf("read response: %d bytes, %v", n, err)
				}
				conn.Close()
				lat = append(lat, time.Since(start))
			}
			reportP99(b, lat)
		})
	}
}

func BenchmarkKeepAliveRequests(b *testing.B) {
	// One connection carrying request after request, like ab -k.
	backend := startHTTPBackend(b)
	for _, path := range benchPaths(b, backend) {
		b.Run(path.name, func(b *testing.B) {
			conn, err := net.Dial("tcp", path.addr)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			r := bufio.NewReader(conn)
			req := []byte("GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
			lat := make([]time.Duration, 0, 1<<16)
			for b.Loop() {
				start := time.Now()
				if _, err := conn.Write(req); err != nil {
					b.Fatal(err)
				}
				resp, err := http.ReadResponse(r, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, resp.Body); err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				lat = append(lat, time.Since(start))
			}
			reportP99(b, lat)
		})
	}
}

func BenchmarkBulk(b *testing.B) {
	// One long connection; each op asks for 64 MiB and reads it all.
	backend := startBulkBackend(b)
	for _, path := range benchPaths(b, backend) {
		b.Run(path.name, func(b *testing.B) {
			conn, err := net.Dial("tcp", path.addr)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			buf := make([]byte, 1<<20)
			b.SetBytes(bulkSize)
			for b.Loop() {
				if _, err := conn.Write([]byte{'g'}); err != nil {
					b.Fatal(err)
				}
				for left := bulkSize; left > 0; {
					n, err := conn.Read(buf[:min(left, len(buf))])
					if err != nil {
						b.Fatal(err)
					}
					left -= n
				}
			}
		})
	}
}

type benchPath struct{ name, addr string }

// benchPaths returns the backend itself and a balancer in front of it.
func benchPaths(b *testing.B, backend string) []benchPath {
	b.Helper()
	// One probe at start; after that the checker stays out of the way.
	lb, err := New(Options{Check: health.Check{Type: health.TypeTCP, Interval: time.Hour, Timeout: time.Second,
		HealthyThreshold: 1, UnhealthyThreshold: 1}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { lb.Close() })
	if err := lb.Register(backend); err != nil {
		b.Fatal(err)
	}
	for deadline := time.Now().Add(waitFor); ; time.Sleep(time.Millisecond) {
		if ts := lb.Targets(); len(ts) == 1 && ts[0].State == health.Healthy {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("backend never became healthy")
		}
	}
	addr, err := lb.Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	return []benchPath{{"direct", backend}, {"balancer", addr.String()}}
}

func startHTTPBackend(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	body := []byte("hello from the backend\n")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// startBulkBackend answers every byte it reads with bulkSize bytes.
func startBulkBackend(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req := make([]byte, 1)
				for {
					if _, err := c.Read(req); err != nil {
						return
					}
					for range bulkSize / len(chunk) {
						if _, err := c.Write(chunk); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	b.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// readAll reads conn to EOF into buf (reused; content discarded) and
// returns the byte count.
func readAll(conn net.Conn, buf []byte) (int, error) {
	total := 0
	for {
		n, err := conn.Read(buf)
		total += n
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

func reportP99(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	// The smallest latency that at least 99% of requests did not exceed.
	i := (len(lat)*99+99)/100 - 1
	b.ReportMetric(float64(lat[i]), "p99-ns")
}
