package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"time"
)

// OpClock sets the guest's clock to the host's: a guest resumed from its
// own saved memory (a hibernated warm pool instance) wakes with the clock
// it had when it was saved.
const OpClock Op = "clock"

// SetClock hands the guest the host's time over the link and waits for it
// to set it.
func (l *Link) SetClock(ctx context.Context) error {
	st, err := l.Open(ctx, Header{Op: OpClock})
	if err != nil {
		return err
	}
	defer st.Close()
	stop := context.AfterFunc(ctx, func() { st.Close() })
	defer stop()
	b, err := json.Marshal(time.Now())
	if err != nil {
		return err
	}
	if _, err := st.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("set the guest's clock: %w", err)
	}
	if err := readReply(st); err != nil {
		return fmt.Errorf("set the guest's clock: %w", err)
	}
	return nil
}

// serveClock sets the clock from the host's time on st.
func (g *Guest) serveClock(st net.Conn) {
	defer st.Close()
	st.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := readLine(st)
	if err != nil {
		return
	}
	var t time.Time
	if err = json.Unmarshal([]byte(line), &t); err == nil {
		err = g.SetClock(t)
	}
	reply(st, err)
}
