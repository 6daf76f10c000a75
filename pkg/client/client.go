// Package client is the Go client of vmfleet's daemon API, used by the
// CLI and by the test harness (pkg/fleettest) alike.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// Client talks to one daemon.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// ErrNoDaemon means nothing answers on the socket.
var ErrNoDaemon = errors.New("no vmfleet daemon is running")

// Unix returns a client for the daemon's unix socket.
func Unix(socket string) *Client {
	return &Client{base: "http://vmfleet", http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, "unix", socket)
			if err != nil {
				return nil, fmt.Errorf("%w at %s (%v)", ErrNoDaemon, socket, err)
			}
			return c, nil
		},
	}}}
}

// TCP returns a client for the daemon's token-guarded TCP listener.
func TCP(addr, token string) *Client {
	return &Client{base: "http://" + addr, token: token, http: &http.Client{}}
}

func (c *Client) req(ctx context.Context, method, path string, body any) (*http.Response, error) {
	req, err := c.newRequest(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, answerError(method, path, resp)
	}
	return resp, nil
}

func (c *Client) newRequest(ctx context.Context, method, path string, body any) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/"+api.Version+path, r)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set(api.TokenHeader, c.token)
	}
	return req, nil
}

func (c *Client) send(req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the daemon's address is noise in a one-line message
		}
		return nil, err
	}
	return resp, nil
}

// answerError is the API error a failed answer carries, and closes it.
func answerError(method, path string, resp *http.Response) error {
	defer resp.Body.Close()
	var e api.Error
	b, _ := io.ReadAll(resp.Body)
	if json.Unmarshal(b, &e) != nil || e.Message == "" {
		e = api.Error{Kind: api.KindFailed, Message: fmt.Sprintf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))}
	}
	return &e
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.req(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode the answer: %w", method, path, err)
	}
	return nil
}

// Info describes the daemon.
func (c *Client) Info(ctx context.Context) (api.Info, error) {
	var in api.Info
	return in, c.do(ctx, http.MethodGet, "/info", nil, &in)
}

// Apply applies a fleet file (or, with DryRun, says what would change).
func (c *Client) Apply(ctx context.Context, req api.ApplyRequest) (api.ApplyResult, error) {
	var res api.ApplyResult
	return res, c.do(ctx, http.MethodPost, "/fleets", req, &res)
}

// Fleets lists the fleets.
func (c *Client) Fleets(ctx context.Context) ([]api.FleetSummary, error) {
	var out []api.FleetSummary
	return out, c.do(ctx, http.MethodGet, "/fleets", nil, &out)
}

// Fleet is one fleet's status.
func (c *Client) Fleet(ctx context.Context, name string) (api.Fleet, error) {
	var f api.Fleet
	return f, c.do(ctx, http.MethodGet, "/fleets/"+url.PathEscape(name), nil, &f)
}

// Scale sets desired counts, all or nothing.
func (c *Client) Scale(ctx context.Context, fleet string, counts map[string]int) (api.Fleet, error) {
	var f api.Fleet
	return f, c.do(ctx, http.MethodPost, "/fleets/"+url.PathEscape(fleet)+"/scale", api.ScaleRequest{Counts: counts}, &f)
}

// Down drains and removes a fleet and returns once it is gone.
func (c *Client) Down(ctx context.Context, fleet string, grace time.Duration) error {
	return c.do(ctx, http.MethodDelete, "/fleets/"+url.PathEscape(fleet)+"?grace="+grace.String(), nil, nil)
}

// Instances lists every instance of the daemon's home.
func (c *Client) Instances(ctx context.Context) ([]api.InstanceRow, error) {
	var out []api.InstanceRow
	return out, c.do(ctx, http.MethodGet, "/instances", nil, &out)
}

// Shutdown stops the daemon; instances keep running for the next one.
func (c *Client) Shutdown(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/shutdown", nil, nil)
}

// EventQuery picks events.
type EventQuery struct {
	Fleet, Service string
	Since          time.Time
	Follow         bool
}

// Events calls each for the matching history, then (Follow) for every new
// event until ctx ends.
func (c *Client) Events(ctx context.Context, q EventQuery, each func(api.Event)) error {
	v := url.Values{}
	if q.Fleet != "" {
		v.Set("fleet", q.Fleet)
	}
	if q.Service != "" {
		v.Set("service", q.Service)
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.Format(time.RFC3339Nano))
	}
	if q.Follow {
		v.Set("follow", "1")
	}
	resp, err := c.req(ctx, http.MethodGet, "/events?"+v.Encode(), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var ev api.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return fmt.Errorf("events: %w", err)
		}
		each(ev)
	}
	if ctx.Err() != nil {
		return nil
	}
	return sc.Err()
}
