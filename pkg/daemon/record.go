package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/renameio/v2"

	"github.com/vmfleet/vmfleet/pkg/fleetfile"
)

// record is a fleet's desired state as the daemon keeps it: the parsed
// fleet file as last applied, the images it was baked into, and what a
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
	Generation int64             `json:"generation"`
}

// records persists records, one file each, written atomically.
type records struct{ dir string }

func (r records) path(name string) string { return filepath.Join(r.dir, "fleet-"+name+".json") }

func (r records) save(rec *record) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("save fleet %s: %w", rec.Name, err)
	}
	if err := renameio.WriteFile(r.path(rec.Name), b, 0o600); err != nil {
		return fmt.Errorf("save fleet %s: %w", rec.Name, err)
	}
	return nil
}

func (r records) remove(name string) error {
	if err := os.Remove(r.path(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("forget fleet %s: %w", name, err)
	}
	return nil
}

func (r records) load() ([]*record, error) {
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		return nil, fmt.Errorf("read fleet records: %w", err)
	}
	var out []*record
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "fleet-") || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(r.dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read fleet record: %w", err)
		}
		var rec record
		if err := json.Unmarshal(b, &rec); err != nil {
			return nil, fmt.Errorf("read fleet record %s: %w", e.Name(), err)
		}
		out = append(out, &rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
