package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The API on TCP answers only with the token from the home; the unix
// socket needs none.
func TestTheTCPAPIWantsTheTokenFromTheHome(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	d := exec.Command(bin("vmfleet"), "--home", e.home, "daemon", "--tcp", addr)
	d.Stdout, d.Stderr = os.Stderr, os.Stderr
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		d.Process.Signal(syscall.SIGTERM)
		d.Wait()
	}()
	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		if token != "" {
			req.Header.Set("X-Vmfleet-Token", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	e.waitFor("the TCP listener", 30*time.Second, func() bool { code, _ := get("/v1/info", ""); return code != 0 })
	if code, body := get("/v1/info", ""); code != http.StatusUnauthorized || !strings.Contains(body, "api-token") {
		t.Errorf("no token: %d %s", code, body)
	}
	if code, body := get("/v1/info", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d %s", code, body)
	}
	tok, err := os.ReadFile(filepath.Join(e.home, "state", "api-token"))
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(e.home, "state", "api-token")); st.Mode().Perm() != 0o600 {
		t.Errorf("the token file is %v, want 0600", st.Mode())
	}
	if code, body := get("/v1/info", string(tok)); code != 200 || !strings.Contains(body, `"tcp":"`+addr+`"`) {
		t.Errorf("with the token: %d %s", code, body)
	}
	if code, body := get("/v1/openapi.yaml", string(tok)); code != 200 || !strings.Contains(body, "openapi: 3") {
		t.Errorf("openapi.yaml: %d %.80s", code, body)
	}
	if out := e.must("info"); !strings.Contains(out, "http://"+addr) {
		t.Errorf("info does not show the TCP address:\n%s", out)
	}
}
