package controller

import (
	"slices"
	"testing"
	"time"
)

func TestLaunchBackOffDoublesFrom2sTo32sAndStartsOverAfterASuccess(t *testing.T) {
	s := &service{}
	var got []time.Duration
	for range 7 {
		got = append(got, s.backOff())
	}
	want := []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, 32 * time.Second, 32 * time.Second}
	if !slices.Equal(got, want) {
		t.Errorf("back-offs %v, want %v", got, want)
	}
	if until := time.Until(s.notBefore); until <= 31*time.Second || until > 32*time.Second {
		t.Errorf("launches held back %s, want 32s", until)
	}
	s.launchBackOff = nil // what a launch that succeeds does
	if d := s.backOff(); d != 2*time.Second {
		t.Errorf("after a success the back-off is %s, want 2s", d)
	}
}
