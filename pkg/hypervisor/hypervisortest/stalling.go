package hypervisortest

import (
	"context"
	"fmt"
	"sync"

	"github.com/vmfleet/vmfleet/pkg/hypervisor"
)

// Stalling is the fake with a libvirtd that can stop answering listings,
// as a session behaves then: Domains waits until its ctx ends.
type Stalling struct {
	*Fake
	mu      sync.Mutex
	stalled bool
	lists   int
}

// Stall stops (or, with false, resumes) answering listings.
func (s *Stalling) Stall(on bool) {
	s.mu.Lock()
	s.stalled = on
	s.mu.Unlock()
}

// Lists is how many listings were asked for.
func (s *Stalling) Lists() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lists
}

// Domains lists the domains, or waits for ctx while stalled.
func (s *Stalling) Domains(ctx context.Context) ([]hypervisor.Domain, error) {
	s.mu.Lock()
	stalled := s.stalled
	s.lists++
	s.mu.Unlock()
	if stalled {
		<-ctx.Done()
		return nil, fmt.Errorf("list domains: %w", hypervisor.ErrUnresponsive)
	}
	return s.Fake.Domains(ctx)
}
