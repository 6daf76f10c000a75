package api

import "time"

// BakeRequest bakes an image (vmfleet bake). Paths are the caller's, read
// by the daemon on the same host.
type BakeRequest struct {
	Name          string   `json:"name"`
	Binary        string   `json:"binary,omitempty"`
	Rootfs        string   `json:"rootfs,omitempty"`
	Copies        []string `json:"copies,omitempty"` // SRC:DST
	Env           []string `json:"env,omitempty"`    // KEY=VALUE
	Port          int      `json:"port,omitempty"`
	Command       []string `json:"command,omitempty"`
	KernelVersion string   `json:"kernel_version,omitempty"`
	Init          string   `json:"init,omitempty"`
}

// BakeResult is a baked (or found) image.
type BakeResult struct {
	Image  Image         `json:"image"`
	Cached bool          `json:"cached"`
	Took   time.Duration `json:"took"`
}

// Image is a baked image, as its manifest describes it.
type Image struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
	// ImageID is the image as an AMI ("ami-" and 17 hex digits of
	// Digest), as the AWS endpoint names it.
	ImageID       string    `json:"image_id"`
	Source        string    `json:"source"` // binary or rootfs
	Command       []string  `json:"command"`
	Env           []string  `json:"env"`
	Port          int       `json:"port"`
	KernelVersion string    `json:"kernel_version"`
	Kernel        string    `json:"kernel"`
	Initrd        string    `json:"initrd"`
	Disk          string    `json:"disk"`
	DiskVirtual   int64     `json:"disk_virtual_bytes"`
	SizeBytes     int64     `json:"size_bytes"`
	Created       time.Time `json:"created"`
}

// RunRequest boots one instance of an image outside any fleet (vmfleet run).
type RunRequest struct {
	Image       string   `json:"image"`
	Service     string   `json:"service,omitempty"`
	CPU         float64  `json:"cpu,omitempty"`
	MemoryBytes int64    `json:"memory_bytes,omitempty"`
	HostPort    int      `json:"host_port,omitempty"`
	Env         []string `json:"env,omitempty"`
	// EgressHostPorts are host ports (127.0.0.1) the guest may reach at
	// 10.0.2.2; nothing else on the host is reachable.
	EgressHostPorts []int `json:"egress_host_ports,omitempty"`
	// Internet lets the guest reach the outside network.
	Internet bool `json:"internet,omitempty"`
	// ColdBoot boots the kernel even where a snapshot could be restored.
	ColdBoot bool `json:"cold_boot,omitempty"`
}

// Stats is one running instance's use against its caps, as docker stats
// shows it.
type Stats struct {
	Fleet      string  `json:"fleet,omitempty"`
	Service    string  `json:"service"`
	ID         string  `json:"id"`
	CPUPercent float64 `json:"cpu_percent"` // of one core
	CPUCap     float64 `json:"cpu_cap"`     // cores now (all vCPUs while it bursts); 0 for none
	RSSBytes   uint64  `json:"rss_bytes"`   // the whole QEMU process
	// PSSBytes is RSS with each page shared with other processes (other
	// clones of one snapshot, after KSM merged them) divided among them.
	PSSBytes uint64 `json:"pss_bytes"`
	// BurstUntil is when a booting instance gets its cap, at the latest;
	// absent once it has it.
	BurstUntil *time.Time `json:"burst_until,omitempty"`
	LimitBytes uint64     `json:"limit_bytes"` // the cgroup hard limit
	GuestBytes uint64     `json:"guest_bytes"` // guest RAM
}
