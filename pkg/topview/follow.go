package topview

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Follow is line mode: every interval it prints the sample's Lines to w,
// until ctx ends. When the daemon fails to answer it says so on errw, once
// for each distinct failure, and tries again at the next interval; so does
// a service filter that matches nothing (yet). A sample already printed
// (the daemon had no newer second) is not printed twice.
func Follow(ctx context.Context, w, errw io.Writer, cfg Config) error {
	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	var said string
	var printed time.Time
	say := func(s string) {
		if s != said && s != "" {
			fmt.Fprintln(errw, "vmfleet: top: "+s)
		}
		said = s
	}
	for {
		m, err := cfg.Fetch(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			say(oneLine(err) + "; retrying every " + cfg.Interval.String())
		default:
			m = Filter(m, cfg.Service)
			if len(m.Services) == 0 && cfg.Service != "" {
				say(fmt.Sprintf("no service matches %q yet (vmfleet ls lists them)", cfg.Service))
				break
			}
			say("")
			if !m.Time.IsZero() && m.Time.Equal(printed) {
				break
			}
			printed = m.Time
			for _, l := range Lines(m) {
				if _, err := fmt.Fprintln(w, l); err != nil {
					return fmt.Errorf("print a sample: %w", err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
