package hypervisor

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/digitalocean/go-libvirt"
)

// emptyDomain starts a transient, paused domain with no disk or kernel:
// enough for libvirtd to send lifecycle events, at no CPU cost. The
// caller destroys it with the func returned, while s is still open.
func emptyDomain(t *testing.T, ctx context.Context, s *Session, name string) (destroy func()) {
	t.Helper()
	l, err := s.wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	xml := fmt.Sprintf(`<domain type='qemu'><name>%s</name><memory unit='MiB'>32</memory>
<os><type arch='x86_64'>hvm</type></os></domain>`, name)
	d, err := l.l.DomainCreateXML(xml, libvirt.DomainStartPaused)
	if err != nil {
		t.Fatalf("start an empty domain: %v", err)
	}
	return func() {
		if err := l.l.DomainDestroy(d); err != nil {
			t.Errorf("destroy %s: %v", name, err)
		}
	}
}

// libvirtd keeps one lifecycle callback per connection and refuses a
// second ("event callback already tracked"): every subscriber of one
// session sees every event all the same.
func TestEverySubscriberOfASessionSeesEachLifecycleEvent(t *testing.T) {
	if _, err := os.Stat(systemSocket); err != nil {
		t.Skipf("no libvirtd here: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	s := Dial(ctx, "qemu:///system", nil)
	defer s.Close()
	var subs []<-chan Event
	for range 3 {
		ch, err := s.Events(ctx)
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, ch)
	}
	time.Sleep(500 * time.Millisecond) // let the subscriptions reach libvirtd
	name := fmt.Sprintf("vmfleet-events-test-%d", os.Getpid())
	defer emptyDomain(t, ctx, s, name)() // before s.Close: it needs the connection
	for i, ch := range subs {
		for {
			select {
			case ev, ok := <-ch:
				if !ok {
					t.Fatalf("subscriber %d: stream closed", i)
				}
				if ev.Domain != name || ev.Kind != EventStarted {
					continue
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("subscriber %d of %d saw no start of %s within 10s", i+1, len(subs), name)
			}
			break
		}
	}
}
