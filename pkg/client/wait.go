package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// ErrLaunch is a launch that failed for good: waiting longer cannot help.
var ErrLaunch = errors.New("launch failed")

// Wait polls a fleet until every service has its desired count in
// service on its current launch template. It fails at once when a
// service cannot launch at all, when the fleet goes away, or at timeout
// with the services still short.
func (c *Client) Wait(ctx context.Context, fleet string, timeout time.Duration) (api.Fleet, error) {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		f, err := c.Fleet(ctx, fleet)
		if err != nil {
			return f, err
		}
		for _, s := range f.Services {
			if s.LaunchError != "" {
				return f, fmt.Errorf("%w: service %s: %s", ErrLaunch, s.Name, s.LaunchError)
			}
		}
		if f.Ready() {
			return f, nil
		}
		if time.Now().After(deadline) {
			var slow []string
			for _, s := range f.Services {
				if n := s.Current(); n < s.Desired {
					slow = append(slow, fmt.Sprintf("%s (%d of %d in service)", s.Name, n, s.Desired))
				}
			}
			return f, fmt.Errorf("not in service within %s: %s", timeout, strings.Join(slow, ", "))
		}
		select {
		case <-ctx.Done():
			return f, ctx.Err()
		case <-tick.C:
		}
	}
}
