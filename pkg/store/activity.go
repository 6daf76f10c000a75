package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// AppendActivities adds events to the activity history and drops the
// oldest beyond keep, so the history survives a daemon restart without
// growing without bound.
func (tx *Tx) AppendActivities(evs []api.Event, keep int) error {
	b := tx.bucket(bucketActivities)
	for _, ev := range evs {
		seq, err := b.NextSequence()
		if err != nil {
			return fmt.Errorf("append activity: %w", err)
		}
		v, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("append activity: %w", err)
		}
		if err := b.Put(binary.BigEndian.AppendUint64(nil, seq), v); err != nil {
			return fmt.Errorf("append activity: %w", err)
		}
	}
	// Sequences are dense, so everything below last-keep+1 goes.
	oldest := int64(b.Sequence()) - int64(keep) + 1
	c := b.Cursor()
	for k, _ := c.First(); k != nil && int64(binary.BigEndian.Uint64(k)) < oldest; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return fmt.Errorf("trim activities: %w", err)
		}
	}
	return nil
}

// Activities returns the newest limit events of the history, oldest first.
func (tx *Tx) Activities(limit int) ([]api.Event, error) {
	var out []api.Event
	c := tx.bucket(bucketActivities).Cursor()
	for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
		var ev api.Event
		if err := json.Unmarshal(v, &ev); err != nil {
			return nil, fmt.Errorf("read activity: %w", err)
		}
		out = append(out, ev)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}
