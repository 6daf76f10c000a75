package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Names follow the libvirt exporter (per domain) and HAProxy's (per
// server), under vmfleet_: instance_, target_ and group_. grafana/vmfleet.json
// charts every one; a test in pkg/daemon fails until a new one is charted.
var (
	instanceLabels = []string{"fleet", "service", "instance"}
	groupLabels    = []string{"fleet", "service"}

	descCPUSeconds  = desc("instance_cpu_seconds_total", "CPU time QEMU used for the instance, all vCPUs.", instanceLabels)
	descCPUUtil     = desc("instance_cpu_utilization_ratio", "CPU used over the last second as a share of the instance's cap (ASGAverageCPUUtilization / 100).", instanceLabels)
	descCPUCap      = desc("instance_cpu_cap_cores", "The instance's CPU cap (cgroup quota) in cores.", instanceLabels)
	descRSS         = desc("instance_memory_rss_bytes", "QEMU's resident memory, guest RAM and QEMU itself.", instanceLabels)
	descLimit       = desc("instance_memory_limit_bytes", "The cgroup memory hard limit of the instance's QEMU.", instanceLabels)
	descGuest       = desc("instance_guest_memory_bytes", "The guest's RAM.", instanceLabels)
	descGuestUsed   = desc("instance_guest_memory_used_bytes", "The guest's memory in use (its balloon's statistics).", instanceLabels)
	descNetRx       = desc("instance_network_receive_bytes_total", "Bytes the guest received.", instanceLabels)
	descNetTx       = desc("instance_network_transmit_bytes_total", "Bytes the guest sent.", instanceLabels)
	descDiskRead    = desc("instance_block_read_bytes_total", "Bytes the guest read from its disk.", instanceLabels)
	descDiskWrite   = desc("instance_block_write_bytes_total", "Bytes the guest wrote to its disk.", instanceLabels)
	descUp          = desc("target_up", "1 when the target passes its health checks and is in rotation.", instanceLabels)
	descHealth      = desc("target_health_state", "1 for the target's health state and ELB reason.", append(append([]string{}, instanceLabels...), "state", "reason"))
	descActive      = desc("target_current_connections", "Connections in flight to the target.", instanceLabels)
	descConnections = desc("target_connections_total", "Client connections sent to the target.", instanceLabels)
	descBytesIn     = desc("target_bytes_in_total", "Bytes from clients to the target, of finished connection directions.", instanceLabels)
	descBytesOut    = desc("target_bytes_out_total", "Bytes from the target to clients, of finished connection directions.", instanceLabels)
	descDesired     = desc("group_desired_capacity", "The Auto Scaling group's desired capacity (GroupDesiredCapacity).", groupLabels)
	descInService   = desc("group_in_service_instances", "Instances in service (GroupInServiceInstances).", groupLabels)
	descPending     = desc("group_pending_instances", "Instances launching or booting (GroupPendingInstances).", groupLabels)
	descDraining    = desc("group_terminating_instances", "Instances draining or terminating (GroupTerminatingInstances).", groupLabels)
	descMin         = desc("group_min_size", "The group's minimum size (GroupMinSize).", groupLabels)
	descMax         = desc("group_max_size", "The group's maximum size (GroupMaxSize).", groupLabels)
	// Served by Activities, not the Recorder: events are not samples.
	descActivities = desc("group_activities_total", "Events of the activity history (vmfleet events) since the daemon started, by kind: scaling activities, launches, health, lifecycle.", append(append([]string{}, groupLabels...), "kind"))

	allDescs = []*prometheus.Desc{descCPUSeconds, descCPUUtil, descCPUCap, descRSS, descLimit, descGuest, descGuestUsed, descNetRx, descNetTx,
		descDiskRead, descDiskWrite, descUp, descHealth, descActive, descConnections, descBytesIn, descBytesOut,
		descDesired, descInService, descPending, descDraining, descMin, descMax}
)

func desc(name, help string, labels []string) *prometheus.Desc {
	return prometheus.NewDesc("vmfleet_"+name, help, labels, nil)
}

// Describe implements prometheus.Collector.
func (r *Recorder) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect reads the latest second at scrape time.
func (r *Recorder) Collect(ch chan<- prometheus.Metric) {
	r.mu.Lock()
	latest, totals := r.latest, r.totals
	r.mu.Unlock()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	for _, s := range latest.Services {
		g := []string{s.Fleet, s.Service}
		gauge(descDesired, float64(s.Desired), g...)
		gauge(descInService, float64(s.InService), g...)
		gauge(descPending, float64(s.Pending), g...)
		gauge(descDraining, float64(s.Draining), g...)
		gauge(descMin, float64(s.Min), g...)
		gauge(descMax, float64(s.Max), g...)
		for _, i := range s.Instances {
			l := []string{s.Fleet, s.Service, i.ID}
			c := totals[i.ID]
			counter(descCPUSeconds, c.cpu.Seconds(), l...)
			gauge(descCPUUtil, i.CPUPercent/100, l...)
			gauge(descCPUCap, i.CPUCap, l...)
			gauge(descRSS, float64(i.RSSBytes), l...)
			gauge(descLimit, float64(i.LimitBytes), l...)
			gauge(descGuest, float64(i.GuestBytes), l...)
			gauge(descGuestUsed, float64(i.GuestUsedBytes), l...)
			counter(descNetRx, float64(c.rx), l...)
			counter(descNetTx, float64(c.tx), l...)
			counter(descDiskRead, float64(c.rd), l...)
			counter(descDiskWrite, float64(c.wr), l...)
			up := 0.0
			if i.Health == "healthy" {
				up = 1
			}
			gauge(descUp, up, l...)
			gauge(descHealth, 1, append(l, i.Health, i.Reason)...)
			gauge(descActive, float64(i.ActiveConns), l...)
			counter(descConnections, float64(c.conns), l...)
			counter(descBytesIn, float64(c.bytesIn), l...)
			counter(descBytesOut, float64(c.bytesOut), l...)
		}
	}
}

var _ prometheus.Collector = (*Recorder)(nil)
