package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
)

func TestTheActivityHistoryKeepsTheNewestInOrder(t *testing.T) {
	s, _ := openTemp(t)
	for i := 0; i < 25; i++ {
		update(t, s, func(tx *Tx) error {
			return tx.AppendActivities([]api.Event{{Time: time.Unix(int64(i), 0).UTC(), Kind: fmt.Sprint(i)}}, 10)
		})
	}
	var got []api.Event
	view(t, s, func(tx *Tx) (err error) { got, err = tx.Activities(100); return err })
	if len(got) != 10 || got[0].Kind != "15" || got[9].Kind != "24" {
		t.Errorf("want events 15..24 oldest first, got %v", got)
	}
	view(t, s, func(tx *Tx) (err error) { got, err = tx.Activities(3); return err })
	if len(got) != 3 || got[0].Kind != "22" || got[2].Kind != "24" {
		t.Errorf("want the newest 3 oldest first, got %v", got)
	}
}
