package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// Bake bakes an image, or finds the one the same inputs made before.
func (c *Client) Bake(ctx context.Context, req api.BakeRequest) (api.BakeResult, error) {
	var res api.BakeResult
	return res, c.do(ctx, http.MethodPost, "/images", req, &res)
}

// Images lists the baked images.
func (c *Client) Images(ctx context.Context) ([]api.Image, error) {
	var out []api.Image
	return out, c.do(ctx, http.MethodGet, "/images", nil, &out)
}

// RemoveImage removes an image no instance uses.
func (c *Client) RemoveImage(ctx context.Context, ref string) (api.Image, error) {
	var img api.Image
	return img, c.do(ctx, http.MethodDelete, "/images/"+url.PathEscape(ref), nil, &img)
}

// Run boots one instance of an image outside any fleet.
func (c *Client) Run(ctx context.Context, req api.RunRequest) (api.InstanceRow, error) {
	var row api.InstanceRow
	return row, c.do(ctx, http.MethodPost, "/instances", req, &row)
}

// Remove stops an instance (the power button, then destroy after grace;
// at once with 0) and removes its domain, disk and log.
func (c *Client) Remove(ctx context.Context, ref string, grace time.Duration) error {
	return c.do(ctx, http.MethodDelete, "/instances/"+url.PathEscape(ref)+"?grace="+grace.String(), nil, nil)
}

// Stats samples every running instance's use over interval.
func (c *Client) Stats(ctx context.Context, fleet string, interval time.Duration) ([]api.Stats, error) {
	var out []api.Stats
	q := url.Values{"interval": {interval.String()}}
	if fleet != "" {
		q.Set("fleet", fleet)
	}
	return out, c.do(ctx, http.MethodGet, "/stats?"+q.Encode(), nil, &out)
}

// LogsQuery picks console logs.
type LogsQuery struct {
	Ref, Fleet string
	Tail       int // lines from the end of each log; -1 for all
	Follow     bool
}

// Logs copies the console logs to w until they end (or, with Follow,
// until ctx ends).
func (c *Client) Logs(ctx context.Context, q LogsQuery, w io.Writer) error {
	v := url.Values{"ref": {q.Ref}, "tail": {"all"}}
	if q.Tail >= 0 {
		v.Set("tail", strconv.Itoa(q.Tail))
	}
	if q.Fleet != "" {
		v.Set("fleet", q.Fleet)
	}
	if q.Follow {
		v.Set("follow", "1")
	}
	resp, err := c.req(ctx, http.MethodGet, "/logs?"+v.Encode(), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil && ctx.Err() == nil {
		return fmt.Errorf("logs: %w", err)
	}
	return nil
}

// Metrics is the latest second of every fleet's monitoring.
func (c *Client) Metrics(ctx context.Context) (api.Metrics, error) {
	var m api.Metrics
	return m, c.do(ctx, http.MethodGet, "/metrics", nil, &m)
}

// History is an instance's or service's series over the last since.
func (c *Client) History(ctx context.Context, entity string, since time.Duration) ([]api.Series, error) {
	var out []api.Series
	q := url.Values{"entity": {entity}, "since": {since.String()}}
	return out, c.do(ctx, http.MethodGet, "/metrics/history?"+q.Encode(), nil, &out)
}

// InjectFault injects a fault into instance ref (vmfleet fault).
func (c *Client) InjectFault(ctx context.Context, ref string, req api.FaultRequest) (api.Fault, error) {
	var f api.Fault
	err := c.do(ctx, http.MethodPost, "/instances/"+url.PathEscape(ref)+"/faults", req, &f)
	return f, err
}

// InjectHostFault injects a fault into the host (vmfleet fault libvirtd).
func (c *Client) InjectHostFault(ctx context.Context, req api.FaultRequest) (api.Fault, error) {
	var f api.Fault
	err := c.do(ctx, http.MethodPost, "/faults", req, &f)
	return f, err
}

// Protect sets an instance's scale-in protection.
func (c *Client) Protect(ctx context.Context, ref string, on bool) error {
	return c.do(ctx, http.MethodPost, "/instances/"+url.PathEscape(ref)+"/protection", api.ProtectRequest{Protected: on}, nil)
}
