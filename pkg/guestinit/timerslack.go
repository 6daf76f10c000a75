package guestinit

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"
)

// timerSlack is how late the guest's timers may fire. Linux's default
// (50 µs) gives every short sleep its own interrupt; each Go runtime's
// monitor thread sleeps 20 µs at a time while anything runs, so one
// health check woke an idle guest some 30 times, and under TCG each wake
// is an interrupt QEMU emulates on both sides of the guest. With 1 ms the
// kernel serves them together: an idle guest alone on the host took 19
// timer interrupts a second instead of 47, and its QEMU a quarter less
// CPU. (With 20 guests on two cores the host's own delays already merge
// them, and the difference was within the noise.)
const timerSlack = time.Millisecond

// setTimerSlack gives every thread of init the slack. Threads and
// processes inherit it from the thread that makes them, so the service
// and whatever exec starts have it too.
func setTimerSlack(_ context.Context, _ *Init) error {
	value := []byte(strconv.FormatInt(int64(timerSlack), 10))
	done := map[string]bool{}
	// Again until no thread is new: the runtime may start one meanwhile,
	// from a thread not yet set.
	for {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		fresh := false
		for _, t := range tasks {
			if done[t.Name()] {
				continue
			}
			// The per-thread file is /proc/TID's, not /proc/self/task/TID's.
			if err := os.WriteFile("/proc/"+t.Name()+"/timerslack_ns", value, 0); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("thread %s: %w", t.Name(), err)
			}
			done[t.Name()], fresh = true, true
		}
		if !fresh {
			return nil
		}
	}
}
