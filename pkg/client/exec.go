package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/vmfleet/vmfleet/pkg/guestexec"
)

// Exec runs a command in an instance's guest, as guestexec.Run does, over
// the daemon's connection upgraded to guestexec's protocol. It returns the
// command's exit status; a command that could not start comes back as a
// *guestexec.StartError with the status a shell gives for it.
func (c *Client) Exec(ctx context.Context, instance string, req guestexec.Request, stdin io.Reader, stdout, stderr io.Writer, resize <-chan guestexec.Size) (int, error) {
	path := "/instances/" + url.PathEscape(instance) + "/exec"
	hr, err := c.newRequest(ctx, http.MethodPost, path, nil)
	if err != nil {
		return -1, err
	}
	hr.Header.Set("Connection", "Upgrade")
	hr.Header.Set("Upgrade", guestexec.Protocol)
	resp, err := c.send(hr)
	if err != nil {
		return -1, err
	}
	if resp.StatusCode/100 != 1 && resp.StatusCode/100 != 2 {
		return -1, answerError(http.MethodPost, path, resp)
	}
	conn, ok := resp.Body.(io.ReadWriteCloser)
	if resp.StatusCode != http.StatusSwitchingProtocols || !ok || !strings.EqualFold(resp.Header.Get("Upgrade"), guestexec.Protocol) {
		resp.Body.Close()
		return -1, fmt.Errorf("exec in %s: the daemon answered %s without switching to %s; is it older than this client? restart it with vmfleet daemon stop", instance, resp.Status, guestexec.Protocol)
	}
	return guestexec.Run(ctx, conn, req, stdin, stdout, stderr, resize)
}
