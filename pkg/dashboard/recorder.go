package dashboard

import (
	"reflect"
	"sort"
	"sync"
	"time"
)

// frame is the fleet's state from At until the next frame. Its encoded
// forms are made once, by whichever stream asks first, and shared by
// every open page.
type frame struct {
	At   time.Time
	View view

	once  sync.Once
	html  []byte // the fleets, as the page swaps them in
	point []byte // the charts' values at At
	err   error
}

// recorder keeps the frames of the last window, at most one a second
// (a change within the second replaces that second's frame), and wakes
// the streams at each change.
type recorder struct {
	window time.Duration

	mu      sync.Mutex
	frames  []*frame // oldest first
	changed chan struct{}
}

func newRecorder(window time.Duration) *recorder {
	return &recorder{window: window, changed: make(chan struct{})}
}

// put records v at now when it differs from the latest frame.
func (r *recorder) put(now time.Time, v view) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.frames)
	if n > 0 && reflect.DeepEqual(r.frames[n-1].View, v) {
		return
	}
	f := &frame{At: now, View: v}
	if n > 0 && now.Sub(r.frames[n-1].At) < time.Second {
		f.At = r.frames[n-1].At // the same second, as it ends
		r.frames[n-1] = f
	} else {
		r.frames = append(r.frames, f)
	}
	drop := 0
	for drop < len(r.frames)-1 && now.Sub(r.frames[drop].At) > r.window {
		drop++
	}
	if drop > 0 {
		r.frames = append([]*frame(nil), r.frames[drop:]...)
	}
	close(r.changed)
	r.changed = make(chan struct{})
}

// latest is the newest frame (nil before the first) and a channel closed
// when a newer one comes.
func (r *recorder) latest() (*frame, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.frames) == 0 {
		return nil, r.changed
	}
	return r.frames[len(r.frames)-1], r.changed
}

// at is the frame that was current at t: the newest frame from t or
// before, else the oldest kept.
func (r *recorder) at(t time.Time) *frame {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.frames) == 0 {
		return nil
	}
	i := sort.Search(len(r.frames), func(i int) bool { return r.frames[i].At.After(t) })
	if i == 0 {
		return r.frames[0]
	}
	return r.frames[i-1]
}

// span is the time the frames cover.
func (r *recorder) span() (from, to time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.frames) == 0 {
		return
	}
	return r.frames[0].At, r.frames[len(r.frames)-1].At
}
