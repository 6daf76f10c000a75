package hypervisor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket"
	"github.com/digitalocean/go-libvirt/socket/dialers"
)

// Connect opens a libvirt connection, giving up when ctx ends: the socket
// is closed then, so a libvirtd that accepted but never answers keeps
// nothing of ours. The error says how to start libvirtd when nothing
// answers.
func Connect(ctx context.Context, uri string) (*Libvirt, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("libvirt URI %q: %w", uri, err)
	}
	h := &Libvirt{uri: u}
	connect := func() (*libvirt.Libvirt, error) { return libvirt.ConnectToURI(u) }
	if local(u) {
		h.raw = &rawDialer{d: dialers.NewLocal(localOptions(u)...)}
		connect = func() (*libvirt.Libvirt, error) {
			l := libvirt.NewWithDialer(h.raw)
			return l, l.ConnectToURI(libvirt.RemoteURI(u))
		}
	}
	type result struct {
		l   *libvirt.Libvirt
		err error
	}
	ch := make(chan result, 1)
	go func() {
		l, err := connect()
		ch <- result{l, err}
	}()
	select {
	case <-ctx.Done():
		if h.raw != nil {
			h.raw.close() // ends the handshake: connect returns
		} else {
			go func() { // a remote transport: close it once it answers
				if r := <-ch; r.err == nil {
					r.l.Disconnect()
				}
			}()
		}
		return nil, fmt.Errorf("libvirtd at %s did not answer the connection within its time: %w", uri, ctx.Err())
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("cannot reach libvirtd at %s (%v); start it with make setup, or systemctl start libvirtd, or libvirtd -d and virtlogd -d", uri, rootCause(r.err))
		}
		h.l = r.l
		return h, nil
	}
}

// local says whether u reaches libvirtd over its unix socket, the
// transport whose socket we hold ourselves.
func local(u *url.URL) bool {
	return u.Host == "" && !strings.Contains(u.Scheme, "+") && u.Query().Get("mode") == ""
}

func localOptions(u *url.URL) []dialers.LocalOption {
	if s := u.Query().Get("socket"); s != "" {
		return []dialers.LocalOption{dialers.WithSocket(s)}
	}
	return nil
}

// rawDialer keeps the socket it dialled, so a stalled connection can be
// closed without go-libvirt's Disconnect, which first waits for libvirtd
// to answer a close request.
type rawDialer struct {
	d    socket.Dialer
	mu   sync.Mutex
	conn net.Conn
	shut bool
}

func (r *rawDialer) Dial() (net.Conn, error) {
	c, err := r.d.Dial()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.shut {
		c.Close()
		return nil, errors.New("connection abandoned")
	}
	r.conn = c
	return c, nil
}

func (r *rawDialer) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.shut = true
	if r.conn != nil {
		r.conn.Close()
	}
}

// abort drops the connection at once: its pending calls fail and lost()
// closes. For a remote transport it can only ask, in the background.
func (h *Libvirt) abort() {
	if h.raw != nil {
		h.raw.close()
		return
	}
	go h.l.Disconnect()
}
