package balancer_test

import (
	"context"
	"log"
	"time"

	"github.com/vmfleet/vmfleet/pkg/balancer"
	"github.com/vmfleet/vmfleet/pkg/health"
)

// A fleet controller fronting one service: instances (VMs whose service
// port is forwarded to loopback) are registered as they boot and drained
// when their health check fails.
func Example() {
	ctx := context.Background()
	var lb *balancer.Balancer
	lb, err := balancer.New(balancer.Options{
		Check: health.Check{Type: health.TypeHTTP, Path: "/healthz", Interval: 10 * time.Second},
		OnTransition: func(tr health.Transition) {
			if tr.To == health.Unhealthy {
				// Drain it; a real controller would also boot a
				// replacement and Register it.
				if err := lb.Deregister(ctx, tr.Target); err != nil {
					log.Print(err)
				}
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer lb.Close()
	if _, err := lb.Listen(ctx, ":8080"); err != nil { // 127.0.0.1:8080
		log.Fatal(err)
	}
	for _, instance := range []string{"127.0.0.1:9001", "127.0.0.1:9002"} {
		if err := lb.Register(instance); err != nil {
			log.Fatal(err)
		}
	}
}
