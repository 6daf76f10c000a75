package controller

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"
)

// State is what a fleet's controller keeps beside libvirt: the balancer
// addresses it chose (dependents were told them, so a restarted controller
// must listen there again) and who it is.
type State struct {
	Fleet  string            `json:"fleet"`
	File   string            `json:"file"`
	Listen map[string]string `json:"listen"`
	// Desired counts set by `scale`, and the fleet file's counts when they
	// were set: a restarted controller keeps a scaled count until the
	// file's own count for that service changes.
	Desired       map[string]int `json:"desired,omitempty"`
	FileInstances map[string]int `json:"file_instances,omitempty"`
	// Protected lists each service's instances protected from scale-in.
	Protected map[string][]string `json:"protected,omitempty"`
}

// StateDir is where a fleet's socket, state and controller log live.
func StateDir(home, fleet string) string { return filepath.Join(home, "fleets", fleet) }

// ReadState reads a fleet's state; a missing file is not an error.
func ReadState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if os.IsNotExist(err) {
		return &State{}, nil
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("read fleet state: %w", err)
	}
	return &s, nil
}

// WriteState writes a fleet's state atomically.
func WriteState(dir string, s *State) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return renameio.WriteFile(filepath.Join(dir, "state.json"), b, 0o600, renameio.WithTempDir(dir))
}
