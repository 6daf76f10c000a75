// Package topview shows the daemon's latest second of fleet metrics, as
// vmfleet top does: as key=value lines for logs and pipes, and as a
// bubbletea Model for a terminal. Everything that turns a snapshot into
// text is a pure function of api.Metrics.
package topview

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/docker/go-units"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// Name is how a service is named on screen: fleet/service, or the service
// alone when it belongs to no fleet.
func Name(s api.ServiceMetrics) string {
	if s.Fleet == "" {
		return s.Service
	}
	return s.Fleet + "/" + s.Service
}

// Filter keeps the services that service names, by service name or as
// fleet/service; an empty service keeps them all.
func Filter(m api.Metrics, service string) api.Metrics {
	if service == "" {
		return m
	}
	out := api.Metrics{Time: m.Time}
	for _, s := range m.Services {
		if s.Service == service || Name(s) == service {
			out.Services = append(out.Services, s)
		}
	}
	return out
}

// SortByCPU orders each service's instances by CPU use, busiest first,
// leaving m itself as it was.
func SortByCPU(m api.Metrics) api.Metrics {
	out := api.Metrics{Time: m.Time, Services: make([]api.ServiceMetrics, len(m.Services))}
	for i, s := range m.Services {
		s.Instances = append([]api.InstanceMetrics(nil), s.Instances...)
		sort.SliceStable(s.Instances, func(a, b int) bool { return s.Instances[a].CPUPercent > s.Instances[b].CPUPercent })
		out.Services[i] = s
	}
	return out
}

// Lines is one sample in line mode: per service a line of its counts, then
// a line per instance, each stamped with the sample's time and made of
// key=value fields to grep.
func Lines(m api.Metrics) []string {
	ts := m.Time.Local().Format("15:04:05")
	var out []string
	for _, s := range m.Services {
		out = append(out, fmt.Sprintf("%s %s desired=%d in_service=%d pending=%d draining=%d cpu=%.1f%% conn_rate=%.1f/s active=%d min=%d max=%d",
			ts, Name(s), s.Desired, s.InService, s.Pending, s.Draining, s.CPUPercent, s.ConnRate, s.ActiveConns, s.Min, s.Max))
		for _, in := range s.Instances {
			reason := ""
			if in.Reason != "" {
				reason = " reason=" + value(in.Reason)
			}
			out = append(out, fmt.Sprintf("%s %s %s phase=%s health=%s%s cpu=%.1f%% cap=%s rss=%s limit=%s net_in=%s net_out=%s conn_rate=%.1f/s active=%d",
				ts, Name(s), id(in), value(in.Phase), value(in.Health), reason, in.CPUPercent, cores(in.CPUCap),
				bytes(in.RSSBytes), bytes(in.LimitBytes), rate(in.NetRxRate), rate(in.NetTxRate), in.ConnRate, in.ActiveConns))
		}
	}
	return out
}

// Header is a service's summary line above its instances.
func Header(s api.ServiceMetrics) string {
	return fmt.Sprintf("%s  in service %d/%d  min..max %d..%d  pending %d  draining %d  cpu %.1f%%  conn %.1f/s  active %d",
		Name(s), s.InService, s.Desired, s.Min, s.Max, s.Pending, s.Draining, s.CPUPercent, s.ConnRate, s.ActiveConns)
}

// Columns heads the cells of Row.
func Columns() []string {
	return []string{"ID", "PHASE", "HEALTH", "CPU", "MEM / LIMIT", "NET IN", "NET OUT", "CONN/S", "ACTIVE"}
}

// Row is an instance's cells under Columns.
func Row(in api.InstanceMetrics) []string {
	health := orDash(in.Health)
	if in.Reason != "" {
		health += " (" + in.Reason + ")"
	}
	return []string{
		id(in), orDash(in.Phase), health,
		fmt.Sprintf("%.0f%% of %s", in.CPUPercent, cores(in.CPUCap)),
		bytes(in.RSSBytes) + " / " + bytes(in.LimitBytes),
		rate(in.NetRxRate), rate(in.NetTxRate),
		fmt.Sprintf("%.1f", in.ConnRate), strconv.Itoa(in.ActiveConns),
	}
}

// id is "-" for an instance still launching, which has none yet.
func id(in api.InstanceMetrics) string { return orDash(in.ID) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// value keeps a field one word, so that a line splits on spaces.
func value(s string) string {
	if s == "" {
		return "-"
	}
	if strings.ContainsAny(s, " \t\"=") {
		return strconv.Quote(s)
	}
	return s
}

func cores(c float64) string { return strconv.FormatFloat(c, 'g', -1, 64) }

// bytes is memory in binary units, as docker stats shows it; "-" when
// unknown (no limit, or not running).
func bytes(b uint64) string {
	if b == 0 {
		return "-"
	}
	return units.BytesSize(float64(b))
}

// rate is bytes a second in decimal units; fractions of a byte are noise.
func rate(r float64) string {
	return units.HumanSize(math.Round(r)) + "/s"
}

// oneLine keeps an error to the one line a status or log line has room for.
func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }
