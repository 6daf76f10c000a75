package daemon

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/client"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/hypervisor/hypervisortest"
	"github.com/vmfleet/vmfleet/pkg/instance"
)

// psDaemon is a daemon whose home runs n instances on the fake, behind
// the inventory the daemon keeps.
func psDaemon(t testing.TB, n int) (*Daemon, *hypervisortest.Stalling) {
	t.Helper()
	dir := t.TempDir()
	hv := &hypervisortest.Stalling{Fake: &hypervisortest.Fake{}}
	created := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	for i := range n {
		hv.Add(fmt.Sprintf("vmfleet-web-%02d", i), hypervisor.Running, fmt.Sprintf(
			`<vmfleet:instance xmlns:vmfleet="%s"><vmfleet:id>i-%02d</vmfleet:id><vmfleet:service>web</vmfleet:service><vmfleet:fleet>shop</vmfleet:fleet>`+
				`<vmfleet:image><vmfleet:name>web</vmfleet:name><vmfleet:digest>sha256:ab</vmfleet:digest></vmfleet:image>`+
				`<vmfleet:port><vmfleet:host>%d</vmfleet:host><vmfleet:guest>8080</vmfleet:guest></vmfleet:port>`+
				`<vmfleet:dir>%s</vmfleet:dir><vmfleet:created>%s</vmfleet:created><vmfleet:reach></vmfleet:reach></vmfleet:instance>`,
			hypervisor.MetadataNamespace, i, 20000+i, filepath.Join(dir, fmt.Sprintf("i-%02d", i)), created.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano)))
	}
	inv := hypervisor.NewInventory(hv, nil)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go inv.Run(ctx)
	return &Daemon{inv: inv, instances: &instance.Manager{HV: inv, Dir: dir}, events: newHub(nil), fleets: map[string]*fleetRun{}, loaded: loadedNow()}, hv
}

// ps answers from what the daemon knows, with libvirtd stalled too: a ps
// that waited on the stalled fake would run out its 2 s and fail. How
// fast it answers is BenchmarkPs50LibvirtdStalled's to say.
func TestPsAnswersAtOnceWithLibvirtdStalled(t *testing.T) {
	d, hv := psDaemon(t, 50)
	ps := func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		rows, err := d.Instances(ctx)
		if err != nil {
			t.Fatalf("ps: %v", err)
		}
		return len(rows)
	}
	if n := ps(); n != 50 {
		t.Fatalf("ps listed %d instances, want 50", n)
	}
	hv.Stall(true)
	defer hv.Stall(false)
	for range 20 {
		if n := ps(); n != 50 {
			t.Fatalf("ps with libvirtd stalled listed %d instances, want 50", n)
		}
	}
}

func BenchmarkPs50LibvirtdStalled(b *testing.B) {
	d, hv := psDaemon(b, 50)
	ctx := context.Background()
	if rows, err := d.Instances(ctx); err != nil || len(rows) != 50 {
		b.Fatalf("ps: %d rows, %v", len(rows), err)
	}
	hv.Stall(true)
	defer hv.Stall(false)
	b.ResetTimer()
	for range b.N {
		d.Instances(ctx)
	}
}

// BenchmarkPsOverTheAPI50 is ps as the CLI asks it: HTTP, JSON, 50 rows,
// libvirtd stalled.
func BenchmarkPsOverTheAPI50(b *testing.B) {
	d, hv := psDaemon(b, 50)
	srv := httptest.NewServer(d.Handler("", func() {}))
	defer srv.Close()
	cl := client.TCP(strings.TrimPrefix(srv.URL, "http://"), "")
	ctx := context.Background()
	if rows, err := cl.Instances(ctx); err != nil || len(rows) != 50 {
		b.Fatalf("ps: %d rows, %v", len(rows), err)
	}
	hv.Stall(true)
	defer hv.Stall(false)
	b.ResetTimer()
	for range b.N {
		if _, err := cl.Instances(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// loadedNow is the loaded channel of a daemon made without New or Run.
func loadedNow() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}
