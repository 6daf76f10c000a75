package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/vmfleet/vmfleet/pkg/agent"
	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/guestexec"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/instance"
)

// execStreamTimeout bounds finding the instance and opening its stream;
// the command itself runs as long as it runs.
const execStreamTimeout = 30 * time.Second

// serveExec answers POST /instances/{ref}/exec: it opens an exec stream
// through the instance's agent channel, upgrades the HTTP connection, and
// splices the two. The exec protocol runs end to end between the client
// and the guest's init; the daemon only carries it, so exec opens no
// network path into the guest.
func (d *Daemon) serveExec(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), guestexec.Protocol) {
		reply(w, nil, api.Invalid(fmt.Errorf("exec needs the header Upgrade: %s (use vmfleet exec or the Go client)", guestexec.Protocol)))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), execStreamTimeout)
	stream, err := d.execStream(ctx, r.PathValue("ref"))
	cancel()
	if err != nil {
		reply(w, nil, err)
		return
	}
	defer stream.Close()
	hj, ok := w.(http.Hijacker)
	if !ok {
		reply(w, nil, api.Failed(errors.New("this connection cannot be upgraded")))
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		d.log.Warn("exec: hijack", "err", err)
		return
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+guestexec.Protocol+"\r\n\r\n"); err != nil {
		return
	}
	// What the client sent after its request is in buf's reader.
	done := make(chan struct{})
	go func() {
		io.Copy(stream, buf.Reader)
		stream.Close() // the client hung up: the guest kills the command
		close(done)
	}()
	io.Copy(conn, stream)
	if tc, ok := conn.(interface{ CloseWrite() error }); ok {
		tc.CloseWrite()
	}
	conn.SetReadDeadline(time.Now().Add(time.Second))
	<-done
}

// execStream finds a running instance and opens an exec stream into it.
func (d *Daemon) execStream(ctx context.Context, ref string) (net.Conn, error) {
	inst, err := d.instances.Get(ctx, ref)
	if err != nil {
		if errors.Is(err, instance.ErrNoInstance) {
			return nil, api.NotFound(fmt.Errorf("exec: %w: %s (vmfleet ps lists them)", err, ref))
		}
		return nil, api.Failed(err)
	}
	if !d.owns(inst) {
		return nil, api.NotFound(fmt.Errorf("exec: %s belongs to another vmfleet home", ref))
	}
	if inst.State != hypervisor.Running {
		return nil, api.Conflict(fmt.Errorf("exec: %s is %s, not running", ref, inst.State))
	}
	link := d.links.Ensure(inst.Domain, inst.Address, inst.GuestPort)
	st, err := link.Open(ctx, agent.Header{Op: agent.OpExec})
	if err != nil {
		return nil, api.Failed(fmt.Errorf("exec: reach %s's agent: %w", ref, err))
	}
	return st, nil
}
