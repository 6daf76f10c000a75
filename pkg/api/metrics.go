package api

import "time"

// Metrics is the latest second of every fleet's monitoring, as vmfleet top
// shows it.
type Metrics struct {
	Time     time.Time        `json:"time"`
	Services []ServiceMetrics `json:"services"`
}

// ServiceMetrics is one service (an Auto Scaling group and its target
// group) in the latest second.
type ServiceMetrics struct {
	Fleet     string `json:"fleet,omitempty"`
	Service   string `json:"service"`
	Desired   int    `json:"desired"`
	Min       int    `json:"min"`
	Max       int    `json:"max"`
	InService int    `json:"in_service"`
	Pending   int    `json:"pending"` // launching or booting
	Draining  int    `json:"draining"`
	// CPUPercent is the average over the instances in service, in percent
	// of each one's CPU cap (ASGAverageCPUUtilization).
	CPUPercent  float64           `json:"cpu_percent"`
	ConnRate    float64           `json:"conn_rate"` // new connections (requests) a second, all targets
	ActiveConns int               `json:"active_conns"`
	Instances   []InstanceMetrics `json:"instances"`
}

// InstanceMetrics is one instance in the latest second.
type InstanceMetrics struct {
	ID     string `json:"id"`
	Phase  string `json:"phase"`
	Health string `json:"health"`
	// Reason is the target's ELB health reason (Elb.InitialHealthChecking,
	// Target.FailedHealthChecks, Target.DeregistrationInProgress, ...).
	Reason     string  `json:"reason,omitempty"`
	CPUPercent float64 `json:"cpu_percent"` // of its cap
	CPUCap     float64 `json:"cpu_cap"`     // cores
	RSSBytes   uint64  `json:"rss_bytes"`   // QEMU's resident memory
	LimitBytes uint64  `json:"limit_bytes"` // the cgroup hard limit
	GuestBytes uint64  `json:"guest_bytes"` // guest RAM
	// GuestUsedBytes is the guest's memory in use, from its balloon's
	// statistics (0 until the guest reports them).
	GuestUsedBytes uint64  `json:"guest_used_bytes"`
	NetRxRate      float64 `json:"net_rx_rate"` // bytes a second the guest received
	NetTxRate      float64 `json:"net_tx_rate"`
	DiskRead       float64 `json:"disk_read_rate"`
	DiskWrite      float64 `json:"disk_write_rate"`
	ActiveConns    int     `json:"active_conns"`
	ConnRate       float64 `json:"conn_rate"` // new connections a second
}

// Series is one metric's history at one point a second.
type Series struct {
	Entity string  `json:"entity"` // an instance id, or fleet/service
	Metric string  `json:"metric"`
	Unit   string  `json:"unit"`
	Points []Point `json:"points"`
}

// Point is one second's value.
type Point struct {
	Time  time.Time `json:"t"`
	Value float64   `json:"v"`
}
