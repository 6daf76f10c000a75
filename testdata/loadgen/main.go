// loadgen is a guest-side HTTP client for the benchmarks: from inside an
// instance it sends requests to a URL for a while, a few at a time, and
// prints how many it made and their latency percentiles as JSON. Run with
// -listen it is an idle service instead, so an image of it can boot.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"
)

func main() {
	listen := flag.String("listen", "", "serve 200s on this address instead of generating load")
	url := flag.String("url", "", "what to request")
	d := flag.Duration("d", 5*time.Second, "for how long")
	c := flag.Int("c", 4, "requests in flight")
	flag.Parse()
	if *listen != "" {
		log.Fatal(http.ListenAndServe(*listen, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	}
	if *url == "" {
		fmt.Fprintln(os.Stderr, "loadgen: give -url, or -listen to serve")
		os.Exit(2)
	}
	var mu sync.Mutex
	var lat []time.Duration
	failed := 0
	end := time.Now().Add(*d)
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for range *c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				t := time.Now()
				resp, err := client.Get(*url)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				mu.Lock()
				if err != nil || resp.StatusCode != 200 {
					failed++
				} else {
					lat = append(lat, time.Since(t))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	json.NewEncoder(os.Stdout).Encode(map[string]float64{
		"requests": float64(len(lat)), "failed": float64(failed), "per_second": float64(len(lat)) / d.Seconds(),
		"p50_ms": pct(0.50), "p99_ms": pct(0.99),
	})
}
