package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/guestexec"
)

// upgraded is a hijacked connection whose first bytes may already sit in
// the server's read buffer.
type upgraded struct {
	net.Conn
	r *bufio.Reader
}

func (u upgraded) Read(p []byte) (int, error) { return u.r.Read(p) }

// execDaemon answers POST /v1/instances/i-1/exec as the daemon does: it
// checks the token, switches protocols and serves the exec itself.
func execDaemon(t *testing.T) *Client {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/instances/{id}/exec", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(api.TokenHeader) != "secret" {
			writeError(w, &api.Error{Kind: api.KindDenied, Message: "wrong token"})
			return
		}
		if r.PathValue("id") != "i-1" {
			writeError(w, api.NotFound(errors.New("no instance "+r.PathValue("id")+"; see vmfleet ps")))
			return
		}
		if r.Header.Get("Upgrade") != guestexec.Protocol || !strings.EqualFold(r.Header.Get("Connection"), "Upgrade") {
			writeError(w, api.Invalid(errors.New("exec needs Connection: Upgrade, Upgrade: "+guestexec.Protocol)))
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + guestexec.Protocol + "\r\n\r\n")
		if err := rw.Flush(); err != nil {
			t.Errorf("answer 101: %v", err)
			return
		}
		if err := guestexec.Serve(r.Context(), upgraded{conn, rw.Reader}, guestexec.Env{}); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return TCP(srv.Listener.Addr().String(), "secret")
}

func writeError(w http.ResponseWriter, e *api.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status())
	_ = json.NewEncoder(w).Encode(e)
}

func TestExecRunsTheCommandOverTheUpgradedConnection(t *testing.T) {
	cl := execDaemon(t)
	var out, errOut bytes.Buffer
	req := guestexec.Request{Argv: []string{"/bin/sh", "-c", "cat; echo warn >&2; exit 3"}, Stdin: true}
	status, err := cl.Exec(context.Background(), "i-1", req, strings.NewReader("piped in"), &out, &errOut, nil)
	if status != 3 || err != nil || out.String() != "piped in" || errOut.String() != "warn\n" {
		t.Errorf("status %d, %v, stdout %q, stderr %q; want 3, piped in, warn", status, err, out.String(), errOut.String())
	}
}

func TestExecOfAnUnknownInstanceIsTheAPIsNotFound(t *testing.T) {
	cl := execDaemon(t)
	_, err := cl.Exec(context.Background(), "i-nope", guestexec.Request{Argv: []string{"true"}}, nil, io.Discard, io.Discard, nil)
	var e *api.Error
	if !errors.As(err, &e) || e.Kind != api.KindNotFound || !strings.Contains(e.Message, "i-nope") || !api.BadInput(err) {
		t.Errorf("exec in i-nope: %v, want the daemon's not_found error", err)
	}
}

func TestExecWithAWrongTokenIsDenied(t *testing.T) {
	cl := execDaemon(t)
	cl.token = "wrong"
	_, err := cl.Exec(context.Background(), "i-1", guestexec.Request{Argv: []string{"true"}}, nil, io.Discard, io.Discard, nil)
	var e *api.Error
	if !errors.As(err, &e) || e.Kind != api.KindDenied {
		t.Errorf("exec with a wrong token: %v, want denied", err)
	}
}

func TestExecToADaemonThatDoesNotUpgradeSaysSo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer srv.Close()
	_, err := TCP(srv.Listener.Addr().String(), "").Exec(context.Background(), "i-1", guestexec.Request{Argv: []string{"true"}}, nil, io.Discard, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "without switching") {
		t.Errorf("a 200 answer: %v, want an error saying the daemon did not switch protocols", err)
	}
}
