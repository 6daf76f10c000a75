package controller

// State is what a controller changed that the daemon stores: the counts
// set by scale or by a policy, and scale-in protection.
type State struct {
	Fleet string `json:"fleet"`
	// Desired counts by service.
	Desired map[string]int `json:"desired,omitempty"`
	// Protected lists each service's instances protected from scale-in.
	Protected map[string][]string `json:"protected,omitempty"`
}
