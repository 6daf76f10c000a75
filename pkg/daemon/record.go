package daemon

import "github.com/vmfleet/vmfleet/pkg/fleetfile"

// record is a fleet's desired state as the daemon works with it (state.go
// keeps it in the store as AWS-named resources): the fleet file as last applied, the images it was baked into, and what a
// restarted daemon must keep (balancer ports dependents were told, counts
// set by scale). It is built from the file at `up` and never re-read from
// it, so a daemon restart changes nothing the user did not apply.
type record struct {
	Name       string            `json:"name"`
	File       string            `json:"file"`
	Spec       *fleetfile.Fleet  `json:"spec"`
	Images     map[string]string `json:"images"` // digest by service
	Listen     map[string]string `json:"listen"` // bound address by service
	Desired    map[string]int    `json:"desired"`
	FileCounts map[string]int    `json:"file_counts"`
	BootCPUs   float64           `json:"boot_cpus,omitempty"`
	// Protected are each service's instances protected from scale-in.
	Protected  map[string][]string `json:"protected,omitempty"`
	Generation int64               `json:"generation"`
}
